// Hostile clients that never finish what they start, written with node:net and node:http2 only
// (no code shared with the server): each waits for the server to cut it off and says how long that
// took, or fails once its deadline has passed.
import http2 from "node:http2";
import net from "node:net";
import { waitFor } from "../../support/index.js";

/**
 * Starts the clients `batch` at a time, each batch once the service has accepted the one before
 * (`accepted()`: the service's count of accepted connections). The service runs in this process:
 * opened all at once, a thousand clients see their connects complete long before the service gets
 * round to accepting them, and that queueing would be timed as lateness of the cut.
 */
export async function openPaced<T>(
  openers: Array<() => Promise<T>>,
  accepted: () => Promise<number>,
  batch = 100,
): Promise<T[]> {
  const started: Array<Promise<T>> = [];
  for (let first = 0; first < openers.length; first += batch) {
    const before = await accepted();
    const slice = openers.slice(first, first + batch);
    for (const open of slice) {
      const client = open();
      client.catch(() => {}); // its failure is reported by the Promise.all below
      started.push(client);
    }
    await waitFor(async () => (await accepted()) >= before + slice.length, { intervalMs: 5 });
  }
  return Promise.all(started);
}

export interface CutOff {
  /** From the client's connect (or request) to the server closing it. */
  elapsedMs: number;
  /** What the server sent before closing (a raw connection's bytes, as text). */
  received: string;
}

/**
 * Connects to 127.0.0.1:`port`, writes `bytes` (nothing when undefined) and waits for the server
 * to close the connection. Rejects if the server has not closed it after `deadlineMs`.
 */
export function holdConnection(port: number, bytes: string | undefined, deadlineMs: number): Promise<CutOff> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let connectedAt = 0;
    let received = "";
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open ${deadlineMs} ms after connecting (sent ${JSON.stringify(bytes ?? "")})`));
    }, deadlineMs);
    socket.on("connect", () => {
      connectedAt = performance.now();
      if (bytes !== undefined) socket.write(bytes);
    });
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.on("error", () => {}); // a reset is one way to be cut off; "close" follows
    socket.on("close", () => {
      clearTimeout(deadline);
      if (connectedAt === 0) reject(new Error("the connection was refused"));
      else resolve({ elapsedMs: performance.now() - connectedAt, received });
    });
  });
}

export interface StreamsCutOff {
  /** Per stream: from the request to its close, and the RST_STREAM code it was closed with. */
  streams: Array<{ elapsedMs: number; rstCode: number }>;
  /** Whether the connection itself was still up after every stream was cut. */
  sessionOpen: boolean;
  /** The SETTINGS_MAX_CONCURRENT_STREAMS the server announced. */
  maxConcurrentStreams: number | undefined;
}

/**
 * Opens one HTTP/2 connection and `count` gRPC calls to `path` on it, each sending the first bytes
 * of a 100-byte message and never the rest nor END_STREAM; waits for the server to reset each.
 */
export async function holdGrpcStreams(
  baseUrl: string,
  path: string,
  count: number,
  deadlineMs: number,
): Promise<StreamsCutOff> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  const settings = await new Promise<http2.Settings>((resolve, reject) => {
    session.once("remoteSettings", resolve);
    session.once("close", () => reject(new Error("the HTTP/2 connection closed before the server's SETTINGS")));
  });
  // gRPC's length-prefixed message: a compression flag and a 4-byte length of 100, then only 10 bytes.
  const partialMessage = Buffer.concat([Buffer.from([0, 0, 0, 0, 100]), Buffer.alloc(10, 0x0a)]);
  try {
    const streams = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<{ elapsedMs: number; rstCode: number }>((resolve, reject) => {
            const startedAt = performance.now();
            const stream = session.request({
              ":method": "POST",
              ":path": path,
              "content-type": "application/grpc",
              te: "trailers",
            });
            stream.on("error", () => {});
            stream.on("response", () => {}); // an answer without reading the body is not a cut
            stream.resume();
            const deadline = setTimeout(() => {
              stream.close();
              reject(new Error(`stream still open ${deadlineMs} ms after its request`));
            }, deadlineMs);
            stream.on("close", () => {
              clearTimeout(deadline);
              resolve({ elapsedMs: performance.now() - startedAt, rstCode: stream.rstCode ?? -1 });
            });
            stream.write(partialMessage);
          }),
      ),
    );
    return {
      streams,
      sessionOpen: !session.closed && !session.destroyed,
      maxConcurrentStreams: settings.maxConcurrentStreams,
    };
  } finally {
    session.destroy();
  }
}
