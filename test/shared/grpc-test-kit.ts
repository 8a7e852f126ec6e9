// A real HTTP/2 cleartext Connect server on a free port, and typed access to grpc-js methods
// loaded from our .proto files, so that tests check the wire against an independent client.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { loadSync, type MethodDefinition } from "@grpc/proto-loader";

export interface RunningServer {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

export async function startH2cServer(routes: (router: ConnectRouter) => void): Promise<RunningServer> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Open streams (Watch) would keep close() waiting for ever.
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Loads a method the way a grpc-js client sees it: enums as names, bytes as Buffers. */
export function grpcMethod<Req extends object, Res extends object>(
  protoFile: string,
  service: string,
  method: string,
): MethodDefinition<Req, Res> {
  const definitions = loadSync(protoFile, {
    includeDirs: ["proto"],
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const definition = definitions[service];
  if (definition === undefined || "format" in definition) {
    throw new Error(`${protoFile} has no service ${service}`);
  }
  const found = definition[method];
  if (found === undefined) throw new Error(`${service} has no method ${method}`);
  return found as unknown as MethodDefinition<Req, Res>;
}
