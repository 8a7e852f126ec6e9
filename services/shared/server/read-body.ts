import type { NodeServerRequest } from "./one-port-server.js";

/** Why a plain HTTP route could not read its request body, with the HTTP status that says so. */
export class RequestBodyError extends Error {
  constructor(
    readonly status: 408 | 413,
    message: string,
  ) {
    super(message);
    this.name = "RequestBodyError";
  }
}

/**
 * Reads a plain HTTP route's request body into memory, up to `maxBytes` (413 past it, judged from
 * Content-Length before reading when there is one) and within `timeoutMs` (408, and the request is
 * destroyed: a client trickling a body must not hold a handler). For small bodies only, such as
 * the form of a token request; RPC bodies are Connect's to read and bound (MAX_REQUEST_BYTES).
 */
export async function readBody(
  request: NodeServerRequest,
  options: { maxBytes: number; timeoutMs: number },
): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    throw new RequestBodyError(413, `the request body may be at most ${options.maxBytes} bytes`);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    request.destroy();
  }, options.timeoutMs);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > options.maxBytes) {
        throw new RequestBodyError(413, `the request body may be at most ${options.maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    // A destroyed request may end its iteration quietly: what was read then is not the body.
    if (timedOut) throw new Error("request destroyed");
  } catch (error) {
    if (timedOut) throw new RequestBodyError(408, `the request body did not arrive within ${options.timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}
