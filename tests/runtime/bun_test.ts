// The Hono adapter on a real Bun.serve server (runs on Bun only).
import { honoServerSuite } from "../_hono_server.ts";

/** The part of Bun's API this file uses (Deno type-checks it without Bun's types). */
interface BunServe {
  serve(
    options: { hostname: string; port: number; fetch: (request: Request) => Response | Promise<Response> },
  ): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
}

honoServerSuite("Bun.serve", (app) => {
  const bun = (globalThis as unknown as { Bun: BunServe }).Bun;
  const server = bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.fetch(request) });
  return Promise.resolve({
    url: `http://127.0.0.1:${server.port}`,
    close: async () => {
      await server.stop(true);
    },
  });
});
