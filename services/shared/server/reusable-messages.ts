// Answers a handler gives again and again unchanged (the caller's own profile while it is cached):
// encoding a message of a few dozen fields through protobuf-es's reflection costs more than the rest
// of such a call, so a message frozen for reuse is encoded once and its bytes are kept beside it,
// for as long as the message itself is kept (a WeakMap: nothing here outlives it).
import { type DescMessage, type Message, toBinary } from "@bufbuild/protobuf";

const encodings = new WeakMap<object, Buffer>();

/**
 * Freezes the message and everything in it, so that no one can change it after its bytes are kept.
 * A message holding bytes (a Uint8Array cannot be frozen) is returned as it is, not reusable.
 */
export function frozenForReuse<T extends Message>(message: T): T {
  if (freezable(message)) deepFreeze(message);
  return message;
}

function freezable(value: object): boolean {
  if (ArrayBuffer.isView(value)) return value.byteLength === 0;
  return Object.values(value).every((member) => typeof member !== "object" || member === null || freezable(member));
}

function deepFreeze(value: object): void {
  for (const member of Object.values(value)) if (typeof member === "object" && member !== null) deepFreeze(member);
  Object.freeze(value);
}

/** The message's binary encoding: kept for a frozen message, made afresh for any other. */
export function encodeMessage(schema: DescMessage, message: Message): Buffer {
  if (!Object.isFrozen(message)) return asBuffer(toBinary(schema, message));
  let encoded = encodings.get(message);
  if (encoded === undefined) {
    encoded = asBuffer(toBinary(schema, message));
    encodings.set(message, encoded);
  }
  return encoded;
}

/** A Buffer over the same memory: Buffer.from(array) would copy it once more. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
