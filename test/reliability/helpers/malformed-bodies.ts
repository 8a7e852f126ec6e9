// Request bodies no well-behaved protobuf library would produce: invalid UTF-8 in string fields,
// wrong wire types, truncation, impossible lengths, runaway nesting, bodies over the size limit.
// Built by hand on the wire, because a typed client refuses to encode them.
import { create, ScalarType, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";

/** Byte sequences that are not UTF-8: stray continuation, overlong NUL, lone surrogate, truncated, > U+10FFFF. */
export const invalidUtf8Sequences: Uint8Array[] = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x61, 0x64, 0x6d, 0x69, 0x6e, 0xff], // "admin" + 0xff
].map((bytes) => new Uint8Array(bytes));

export interface MalformedBody {
  label: string;
  body: Uint8Array;
}

/** String fields at the top level of a message, or one level down (e.g. UpdateMe's interests list). */
export function stringFieldPaths(desc: DescMessage): Array<DescField[]> {
  const paths: Array<DescField[]> = [];
  for (const field of desc.fields) {
    if (isString(field)) paths.push([field]);
    if (
      (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) &&
      field.message
    ) {
      for (const inner of field.message.fields) if (isString(inner)) paths.push([field, inner]);
    }
  }
  return paths;
}

function isString(field: DescField): boolean {
  return (
    (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) &&
    field.scalar === ScalarType.STRING
  );
}

function lengthDelimited(fieldNo: number, payload: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).bytes(payload).finish();
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function invalidStringAt(path: DescField[], bad: Uint8Array): Uint8Array {
  let body = lengthDelimited(path.at(-1)!.number, bad);
  for (const outer of path.slice(0, -1).reverse()) body = lengthDelimited(outer.number, body);
  return body;
}

/** Every malformed shape for this message type, each built around a well-formed `valid` encoding. */
export function malformedBodyArbitrary(
  desc: DescMessage,
  valid: fc.Arbitrary<Uint8Array>,
  maxRequestBytes: number,
): fc.Arbitrary<MalformedBody> {
  const strings = stringFieldPaths(desc);
  const firstField = desc.fields[0];
  const shapes: Array<fc.Arbitrary<MalformedBody>> = [
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((body) => ({ label: "random bytes", body })),
    // An unknown field is appended first, so that even an empty message type has bytes to cut.
    valid
      .map((bytes) => concat(bytes, lengthDelimited(9_997, new Uint8Array([0x61, 0x62, 0x63]))))
      .chain((bytes) =>
        fc
          .integer({ min: 1, max: bytes.length - 1 })
          .map((cut) => ({ label: `truncated at ${cut}/${bytes.length}`, body: bytes.slice(0, cut) })),
      ),
    fc.constant({ label: "field number 0", body: new Uint8Array([0x02, 0x01, 0x61]) }),
    fc.constant({ label: "length past the end", body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x61]) }),
    fc.constant({
      label: "varint of 11 bytes",
      body: new Uint8Array([0x08, ...new Array<number>(11).fill(0xff), 0x01]),
    }),
    fc.constant({ label: "end-group without start", body: new Uint8Array([0x0c]) }),
    fc.integer({ min: 101, max: 2_000 }).map((depth) => ({
      // Start-group tags of an unknown field, nested past protobuf-es's recursion limit of 100.
      label: `groups nested ${depth} deep`,
      body: concat(...new Array<Uint8Array>(depth).fill(new Uint8Array([0xfb, 0x3e]))), // field 999, wire type 3
    })),
    valid.map((bytes) => ({
      label: "over MAX_REQUEST_BYTES",
      body: concat(bytes, lengthDelimited(9_999, new Uint8Array(maxRequestBytes + 1).fill(0x61))),
    })),
    valid.map((bytes) => ({
      label: "valid with unknown fields",
      body: concat(bytes, lengthDelimited(9_998, new Uint8Array([1, 2, 3]))),
    })),
  ];
  if (firstField) {
    shapes.push(
      fc.constant({
        label: `wrong wire type (fixed64) for ${firstField.name}`,
        body: new BinaryWriter().tag(firstField.number, WireType.Bit64).fixed64(1n).finish(),
      }),
    );
  }
  if (strings.length > 0) {
    shapes.push(
      fc
        .tuple(valid, fc.constantFrom(...strings), fc.constantFrom(...invalidUtf8Sequences))
        .map(([bytes, path, bad]) => ({
          label: `invalid UTF-8 ${Buffer.from(bad).toString("hex")} in ${path.map((field) => field.name).join(".")}`,
          // Appended after a valid encoding: a later occurrence of a field replaces the earlier one.
          body: concat(bytes, invalidStringAt(path, bad)),
        })),
      fc.constantFrom(...strings).map((path) => ({
        label: `varint where ${path.map((field) => field.name).join(".")} (a string) belongs`,
        body: new BinaryWriter().tag(path[0]!.number, WireType.Varint).uint32(300).finish(),
      })),
    );
  }
  return fc.oneof(...shapes);
}

/** Connect JSON bodies that are not the message: broken JSON, wrong types, unknown enum names, huge numbers. */
export function malformedJsonArbitrary(): fc.Arbitrary<MalformedBody> {
  const fixed = [
    "",
    "{",
    "[]",
    "null",
    '"text"',
    '{"identifier": 5}',
    '{"identifierType": "IDENTIFIER_TYPE_NOPE"}',
    '{"identifierType": 1e400}',
    '{"purpose": -1}',
    '{"userId": {"$ne": null}}',
    '{"username": ["a", "b"]}',
    '{"interests": {"values": "x"}}',
    '{"suspendedUntil": "not a time"}',
    '{"suspendedUntil": "99999-01-01T00:00:00Z"}',
    '{"__proto__": {"admin": true}}',
    '{"constructor": {"prototype": {"admin": true}}}',
  ].map((text) => ({ label: `json ${text}`, body: new TextEncoder().encode(text) }));
  return fc.oneof(
    fc.constantFrom(...fixed),
    fc
      .json({ maxDepth: 3 })
      .map((text) => ({ label: `json ${text.slice(0, 80)}`, body: new TextEncoder().encode(text) })),
    fc.constantFrom(...invalidUtf8Sequences).map((bad) => ({
      label: `json with invalid UTF-8 ${Buffer.from(bad).toString("hex")}`,
      body: concat(new TextEncoder().encode('{"identifier": "'), bad, new TextEncoder().encode('"}')),
    })),
  );
}

/** A message of type `desc` from `base`, with its string field at `path` (from stringFieldPaths) set to `value`. */
export function withString(
  desc: DescMessage,
  path: DescField[],
  value: string,
  base: Record<string, unknown> = {},
): MessageShape<DescMessage> {
  const [field, inner] = path;
  const wrap = (f: DescField, v: unknown) => (f.fieldKind === "list" ? [v] : v);
  // A member of a oneof is set through its oneof, as { case, value }.
  if (!inner && field!.oneof) {
    return create(desc, { ...base, [field!.oneof.localName]: { case: field!.localName, value } } as never);
  }
  if (!inner) return create(desc, { ...base, [field!.localName]: wrap(field!, value) } as never);
  const nested = create(field!.message!, { [inner.localName]: wrap(inner, value) } as never);
  return create(desc, { ...base, [field!.localName]: wrap(field!, nested) } as never);
}
