import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { Interceptor } from "@connectrpc/connect";
import { InvalidArgumentError } from "../errors/domain-errors.js";

// Postgres `text` cannot hold U+0000: a NUL in any string a request carries into the database fails
// the statement (SQLSTATE 22021), which would reach the client as INTERNAL. Protobuf strings may
// hold it, so every request is checked here, at the edge, once for all RPCs, and the client gets
// INVALID_ARGUMENT naming the field (docs/errors.md). No field of ours has a use for NUL.

const nul = "\u0000";

/** Refuses any request with a NUL character in a string field (at any depth, in lists and maps too). */
export function createTextSafetyInterceptor(): Interceptor {
  // Not async: a clean request (nearly all) goes on without a promise of its own; a refusal is thrown
  // to the caller, as the validation interceptor throws its own.
  return (next) => (request) => {
    if (!request.stream && hasNul(request.method.input, request.message as unknown as Record<string, unknown>)) {
      const field = fieldWithNul(request.method.input, request.message as unknown as Record<string, unknown>, "");
      if (field !== undefined) {
        throw new InvalidArgumentError(field, `${field}: must not contain the NUL character (U+0000)`, "NUL_CHARACTER");
      }
    }
    return next(request);
  };
}

/** Whether any string of the message holds a NUL; walks as fieldWithNul does, without making paths. */
function hasNul(desc: DescMessage, message: Record<string, unknown>): boolean {
  for (const field of desc.fields) {
    const value = fieldValue(field, message);
    if (value === undefined) continue;
    switch (field.fieldKind) {
      case "scalar":
        if (typeof value === "string" && value.includes(nul)) return true;
        break;
      case "message":
        if (hasNul(field.message, value as Record<string, unknown>)) return true;
        break;
      case "enum":
        break;
      default:
        // Lists and maps: rare in requests; the full walk answers.
        if (check(field, value, "") !== undefined) return true;
    }
  }
  return false;
}

/** The path of the first string field holding a NUL, e.g. "interests.values[2]". */
function fieldWithNul(desc: DescMessage, message: Record<string, unknown>, prefix: string): string | undefined {
  for (const field of desc.fields) {
    const value = fieldValue(field, message);
    if (value === undefined) continue;
    const path = `${prefix}${field.name}`;
    const found = check(field, value, path);
    if (found !== undefined) return found;
  }
  return undefined;
}

function fieldValue(field: DescField, message: Record<string, unknown>): unknown {
  if (!field.oneof) return message[field.localName];
  const group = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return group?.case === field.localName ? group.value : undefined;
}

function check(field: DescField, value: unknown, path: string): string | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return typeof value === "string" && value.includes(nul) ? path : undefined;
    case "message":
      return fieldWithNul(field.message, value as Record<string, unknown>, `${path}.`);
    case "enum":
      return undefined;
    case "list": {
      const items = value as unknown[];
      for (const [index, item] of items.entries()) {
        const itemPath = `${path}[${index}]`;
        if (field.listKind === "scalar" && typeof item === "string" && item.includes(nul)) return itemPath;
        if (field.listKind === "message") {
          const found = fieldWithNul(field.message, item as Record<string, unknown>, `${itemPath}.`);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    }
    case "map": {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const itemPath = `${path}[${JSON.stringify(key)}]`;
        if (key.includes(nul)) return path;
        if (field.mapKind === "scalar" && typeof item === "string" && item.includes(nul)) return itemPath;
        if (field.mapKind === "message") {
          const found = fieldWithNul(field.message, item as Record<string, unknown>, `${itemPath}.`);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    }
  }
}
