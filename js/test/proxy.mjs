// A TCP proxy in front of the test server, so a test can cut every
// connection or refuse new ones, the way a restarting server or a lost
// network does, while the server itself keeps running.
import net from "node:net";

export async function startProxy(targetPort) {
  const sockets = new Set();
  let server;
  const listen = (port) =>
    new Promise((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, "127.0.0.1");
        sockets.add(client).add(upstream);
        const forget = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", forget).on("close", forget);
        upstream.on("error", forget).on("close", forget);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve(server.address().port));
    });
  const port = await listen(0);
  return {
    port,
    /** Cuts every proxied connection. */
    cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    /** Stops accepting (connections are refused) and cuts the open ones. */
    async down() {
      await new Promise((resolve) => {
        server.close(resolve);
        this.cut();
      });
    },
    /** Accepts again on the same port. */
    async up() {
      await listen(port);
    },
    async close() {
      await this.down();
    },
  };
}
