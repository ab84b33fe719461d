// The Hono adapter on a real Deno.serve server (runs on Deno only).
import { honoServerSuite } from "../_hono_server.ts";

honoServerSuite("Deno.serve", (app) => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  });
});
