// A small TCP load balancer for tests: one 127.0.0.1 address in front of several instances of a
// service, so that clients see one address while two instances serve them. Round-robin per
// connection (layer 4): every call on a connection goes to the instance that connection was given,
// as behind a plain TCP balancer. HTTP/1.1 clients keep several connections open, so their calls
// spread over the instances; one HTTP/2 connection stays on one instance (README, "Scaling out").
import { connect, createServer, type Socket } from "node:net";

export interface Backend {
  host: string;
  port: number;
}

export interface TcpBalancer {
  readonly port: number;
  /** http://127.0.0.1:PORT, for Connect and gRPC clients. */
  readonly baseUrl: string;
  /** Connections handed to each backend so far, in the order the backends were given. */
  connectionsPerBackend(): number[];
  /** Stops accepting and cuts every open connection. */
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: readonly Backend[]): Promise<TcpBalancer> {
  if (backends.length === 0) throw new Error("a balancer needs at least one backend");
  const open = new Set<Socket>();
  const counts = backends.map(() => 0);
  let next = 0;

  const track = (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    // Small frames (HTTP/2 SETTINGS, acks) are not held back for Nagle's algorithm.
    socket.setNoDelay(true);
  };

  const server = createServer((client) => {
    const index = next++ % backends.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const backend = backends[index] as Backend;
    const upstream = connect({ host: backend.host, port: backend.port });
    track(client);
    track(upstream);
    // Bytes flow both ways untouched; an end on one side ends the other once its data is written
    // (pipe), and an error on either side drops both, as a client would see the instance go.
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop);
    upstream.on("error", drop);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the balancer has no TCP address");

  return {
    port: address.port,
    baseUrl: `http://127.0.0.1:${address.port}`,
    connectionsPerBackend: () => [...counts],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}
