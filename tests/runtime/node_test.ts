// The Hono adapter on a real @hono/node-server server (runs on Node only).
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { honoServerSuite } from "../_hono_server.ts";

honoServerSuite("@hono/node-server", (app) =>
  new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => error ? fail(error) : done());
            (server as Server).closeAllConnections?.();
          }),
      });
    });
  }));
