// Protobuf text-format values for .proto source: option values and aggregates, string and
// bytes literals, defaults, and the layout of option lists. Used by proto-source-printer.ts.
import { ScalarType } from "@bufbuild/protobuf";
import type { DescExtension, DescField } from "@bufbuild/protobuf";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { FieldDescriptorProto_Type as Type } from "@bufbuild/protobuf/wkt";
import type { FieldDescriptorProto } from "@bufbuild/protobuf/wkt";

export const INDENT = "  ";

/** Every assignment for one set field of `r`: one per element for lists. */
export function fieldAssignments(name: string, field: DescField, r: ReflectMessage, sep: " = " | ": "): string[] {
  switch (field.fieldKind) {
    case "scalar":
      return [`${name}${sep}${scalarText(field.scalar, r.get(field))}`];
    case "enum":
      return [`${name}${sep}${enumText(field.enum.values, r.get(field) as number)}`];
    case "message":
      return [`${name}${sep}${aggregateText(r.get(field) as ReflectMessage)}`];
    case "list": {
      const out: string[] = [];
      for (const item of r.get(field)) {
        if (field.listKind === "message") out.push(`${name}${sep}${aggregateText(item as ReflectMessage)}`);
        else if (field.listKind === "enum") out.push(`${name}${sep}${enumText(field.enum.values, item as number)}`);
        else out.push(`${name}${sep}${scalarText(field.scalar, item)}`);
      }
      return out;
    }
    case "map": {
      const out: string[] = [];
      for (const [k, v] of r.get(field)) {
        const key = scalarText(field.mapKey, k);
        const value =
          field.mapKind === "message"
            ? aggregateText(v as ReflectMessage)
            : field.mapKind === "enum"
              ? enumText(field.enum.values, v as number)
              : scalarText(field.scalar, v);
        out.push(`${name}${sep}{ key: ${key} value: ${value} }`);
      }
      return out;
    }
  }
}

/** A message value in protobuf text format, as used inside option aggregates. */
function aggregateText(r: ReflectMessage): string {
  if ((r.getUnknown() ?? []).length > 0) {
    throw new Error(`${r.desc.typeName}: unknown fields inside an option value cannot be printed`);
  }
  const lines: string[] = [];
  for (const field of r.fields) {
    if (r.isSet(field)) lines.push(...fieldAssignments(field.name, field, r, ": "));
  }
  if (lines.length === 0) return "{}";
  return `{\n${lines.map((l) => INDENT + indentTail(l, 1)).join("\n")}\n}`;
}

export function scalarOrEnumText(ext: DescExtension, value: unknown): string {
  if (ext.fieldKind === "scalar") return scalarText(ext.scalar, value);
  if (ext.fieldKind === "enum") return enumText(ext.enum.values, value as number);
  throw new Error(`${ext.typeName}: repeated or map custom options are not supported`);
}

function enumText(values: readonly { name: string; number: number }[], n: number): string {
  return values.find((v) => v.number === n)?.name ?? String(n);
}

function scalarText(type: ScalarType, value: unknown): string {
  switch (type) {
    case ScalarType.STRING:
      return quote(value as string);
    case ScalarType.BYTES:
      return `"${cEscapeBytes(value as Uint8Array)}"`;
    case ScalarType.BOOL:
      return value === true ? "true" : "false";
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      const n = value as number;
      if (Number.isNaN(n)) return "nan";
      if (n === Infinity) return "inf";
      if (n === -Infinity) return "-inf";
      return Object.is(n, -0) ? "-0" : String(n);
    }
    default:
      return String(value as number | bigint | string);
  }
}

/** A default value as written in `[default = ...]`; descriptors store it as protoc text. */
export function defaultLiteral(f: FieldDescriptorProto): string {
  const v = f.defaultValue ?? "";
  switch (f.type) {
    case Type.STRING:
      return quote(v);
    case Type.BYTES:
      return `"${v}"`; // already C-escaped in the descriptor
    default:
      return v; // numbers, inf/nan, true/false and enum value names
  }
}

/** Protobuf string literal: printable UTF-8 as is, everything else escaped. */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.charCodeAt(0); // a control character is one UTF-16 unit
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

function cEscapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += "\\\\";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${b.toString(8).padStart(3, "0")}`;
  }
  return out;
}

/** protoc's default json_name: drop underscores, upper-case the letter after each. */
export function defaultJsonName(name: string): string {
  let out = "";
  let upper = false;
  for (const ch of name) {
    if (ch === "_") upper = true;
    else if (upper) {
      out += ch.toUpperCase();
      upper = false;
    } else out += ch;
  }
  return out;
}

/** `[a]` on the same line, or one option per line when there are several or they span lines. */
export function inlineOptions(depth: number, opts: string[]): string {
  if (opts.length === 0) return "";
  if (opts.length === 1 && !opts[0].includes("\n")) return ` [${opts[0]}]`;
  const pad = INDENT.repeat(depth + 1);
  return ` [\n${opts.map((o) => pad + indentTail(o, depth + 1)).join(",\n")}\n${INDENT.repeat(depth)}]`;
}

/** Indents every line but the first of a multi-line value by `depth` levels. */
export function indentTail(text: string, depth: number): string {
  return text.split("\n").join(`\n${INDENT.repeat(depth)}`);
}
