// Connect's headers and errors as @grpc/grpc-js sends them, for the grpc-js adapter (grpc-js-adapter.ts).
import type { ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";

/** Web headers as grpc-js metadata (binary `-bin` values are base64 in Headers); undefined when empty. */
export function toMetadata(headers: Headers): grpc.Metadata | undefined {
  let metadata: grpc.Metadata | undefined;
  headers.forEach((value, key) => {
    metadata ??= new grpc.Metadata();
    if (key.endsWith("-bin")) metadata.set(key, Buffer.from(value, "base64"));
    else metadata.set(key, value);
  });
  return metadata;
}

/** A ConnectError as grpc-js sends it: code, message, google.rpc.Status details and the error's metadata. */
export function toServiceError(error: ConnectError): Partial<grpc.StatusObject> {
  const trailer = new Headers();
  setTrailerStatus(trailer, error);
  const metadata = toMetadata(error.metadata) ?? new grpc.Metadata();
  const details = trailer.get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return { code: error.code as number as grpc.status, details: error.rawMessage, metadata };
}

/**
 * grpc-js metadata as the Web headers Connect handlers read (binary values base64, as Connect keeps
 * them; the first value of a repeated key). Filling undici's Headers costs more than the rest of an
 * empty call's bookkeeping, and a call mostly reads one or two of them (authorization, x-request-id):
 * get() and has() read the metadata until anything else (iteration, a change) needs the real Headers.
 */
const iterate = Headers.prototype as unknown as Record<
  "entries" | "keys" | "values" | typeof Symbol.iterator,
  (this: Headers) => IterableIterator<unknown>
>;

export class MetadataHeaders extends Headers {
  #metadata: grpc.Metadata | undefined;

  constructor(metadata: grpc.Metadata) {
    super();
    this.#metadata = metadata;
  }

  override get(name: string): string | null {
    if (this.#metadata === undefined) return super.get(name);
    const [value] = this.#metadata.get(name);
    if (value === undefined) return null;
    return typeof value === "string" ? value : value.toString("base64");
  }

  override has(name: string): boolean {
    return this.#metadata === undefined ? super.has(name) : this.#metadata.get(name).length > 0;
  }

  override set(name: string, value: string): void {
    this.#fill();
    super.set(name, value);
  }

  override append(name: string, value: string): void {
    this.#fill();
    super.append(name, value);
  }

  override delete(name: string): void {
    this.#fill();
    super.delete(name);
  }

  override forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    this.#fill();
    super.forEach(callback, thisArg);
  }

  // Iteration: Node's Headers has these, though the TypeScript lib this project compiles with lacks them.
  entries(): IterableIterator<[string, string]> {
    this.#fill();
    return iterate.entries.call(this) as IterableIterator<[string, string]>;
  }

  keys(): IterableIterator<string> {
    this.#fill();
    return iterate.keys.call(this) as IterableIterator<string>;
  }

  values(): IterableIterator<string> {
    this.#fill();
    return iterate.values.call(this) as IterableIterator<string>;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    this.#fill();
    return iterate[Symbol.iterator].call(this) as IterableIterator<[string, string]>;
  }

  override getSetCookie(): string[] {
    this.#fill();
    return super.getSetCookie();
  }

  #fill(): void {
    const metadata = this.#metadata;
    if (metadata === undefined) return;
    this.#metadata = undefined;
    for (const [key, value] of Object.entries(metadata.getMap())) {
      super.set(key, typeof value === "string" ? value : value.toString("base64"));
    }
  }
}
