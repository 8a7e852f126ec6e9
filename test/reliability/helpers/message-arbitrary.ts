// A fast-check arbitrary for any protobuf message, built from its descriptor: every RPC's request is
// fuzzed the same way, including RPCs added after this file was written. Fields may be absent,
// present with boundary or hostile values, or present with enum numbers no enum defines.
import {
  create,
  ScalarType,
  type DescField,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import fc from "fast-check";
import {
  hostileDouble,
  hostileEnumNumber,
  hostileInt32,
  hostileInt64,
  hostileString,
  hostileUint32,
  hostileUint64,
} from "./hostile-values.js";

/** Nested messages deeper than this are left unset, so generation stays finite and fast. */
const maxDepth = 3;

export function messageArbitrary<Desc extends DescMessage>(desc: Desc): fc.Arbitrary<MessageShape<Desc>> {
  return initArbitrary(desc, 0).map((init) => create(desc, init as MessageInitShape<Desc>));
}

/**
 * A valid request (`base`) with one field replaced by a hostile value: past validation more often than
 * a wholly random message, so the handlers, the domain and the database see the hostile value.
 */
export function mutatedMessageArbitrary<Desc extends DescMessage>(
  desc: Desc,
  base: Record<string, unknown>,
): fc.Arbitrary<MessageShape<Desc>> {
  const fields = desc.fields.filter((field) => !field.oneof);
  if (fields.length === 0) return messageArbitrary(desc);
  return fc
    .constantFrom(...fields)
    .chain((field) =>
      fieldArbitrary(field, 0).map((value) =>
        create(desc, { ...base, [field.localName]: value } as MessageInitShape<Desc>),
      ),
    );
}

function initArbitrary(desc: DescMessage, depth: number): fc.Arbitrary<Record<string, unknown>> {
  if (depth >= maxDepth) return fc.constant({});
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    if (field.oneof) continue;
    model[field.localName] = fieldArbitrary(field, depth);
  }
  for (const oneof of desc.oneofs) {
    model[oneof.localName] = fc.oneof(
      ...oneof.fields.map((field) => fieldArbitrary(field, depth).map((value) => ({ case: field.localName, value }))),
    );
  }
  return fc.record(model, { requiredKeys: [] });
}

function fieldArbitrary(field: DescField, depth: number): fc.Arbitrary<unknown> {
  switch (field.fieldKind) {
    case "scalar":
      return scalarArbitrary(field.scalar);
    case "enum":
      return hostileEnumNumber(field.enum.values.map((value) => value.number));
    case "message":
      return messageInit(field.message, depth);
    case "list": {
      const element =
        field.listKind === "scalar"
          ? scalarArbitrary(field.scalar)
          : field.listKind === "enum"
            ? hostileEnumNumber(field.enum.values.map((value) => value.number))
            : messageInit(field.message, depth);
      // Up to 25 items: past the max_items of 20, and duplicates for the `unique` rules.
      return fc.oneof(
        fc.array(element, { maxLength: 25 }),
        element.chain((item) =>
          fc.integer({ min: 2, max: 3 }).map((count) => Array.from({ length: count }, () => item)),
        ),
      );
    }
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalarArbitrary(field.scalar)
          : field.mapKind === "enum"
            ? hostileEnumNumber(field.enum.values.map((v) => v.number))
            : messageInit(field.message, depth);
      return fc.dictionary(scalarArbitrary(field.mapKey).map(String), value, { maxKeys: 5 });
    }
  }
}

function messageInit(desc: DescMessage, depth: number): fc.Arbitrary<unknown> {
  return initArbitrary(desc, depth + 1).map((init) => create(desc, init));
}

function scalarArbitrary(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return hostileString();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return hostileInt32();
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return hostileUint32();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return hostileInt64();
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return hostileUint64();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return hostileDouble();
  }
}
