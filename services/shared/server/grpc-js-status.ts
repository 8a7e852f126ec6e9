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

/** grpc-js metadata as the Web headers Connect handlers read (binary values base64, as Connect keeps them). */
export function toHeaders(metadata: grpc.Metadata): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(metadata.getMap())) {
    headers.set(key, typeof value === "string" ? value : value.toString("base64"));
  }
  return headers;
}
