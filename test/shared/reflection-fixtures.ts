// Descriptors written for the reflection tests, because our own protos lack some of what
// reflection must handle: proto2 extensions, nested types, enum values, and imports several files
// deep, among them google/protobuf/descriptor.proto, whose embedded copy protobuf-es boot-straps.
import { create, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FieldOptionsSchema,
  FileDescriptorProtoSchema,
  file_google_protobuf_descriptor,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const { OPTIONAL } = FieldDescriptorProto_Label;
const { BOOL, STRING, MESSAGE, ENUM } = FieldDescriptorProto_Type;

/** test/reflection/fixture.proto: a proto2 message with extensions, importing Timestamp. */
export const fixtureFile: DescFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/reflection/fixture.proto",
    package: "test.reflection",
    syntax: "proto2",
    dependency: ["google/protobuf/timestamp.proto"],
    messageType: [
      {
        name: "Base",
        field: [
          { name: "created_at", number: 1, label: OPTIONAL, type: MESSAGE, typeName: ".google.protobuf.Timestamp" },
          { name: "color", number: 2, label: OPTIONAL, type: ENUM, typeName: ".test.reflection.Color" },
        ],
        nestedType: [{ name: "Inner" }],
        extensionRange: [{ start: 100, end: 200 }],
      },
    ],
    enumType: [
      {
        name: "Color",
        value: [
          { name: "COLOR_UNSPECIFIED", number: 0 },
          { name: "COLOR_RED", number: 1 },
        ],
      },
    ],
    extension: [
      { name: "note", number: 150, label: OPTIONAL, type: STRING, extendee: ".test.reflection.Base" },
      { name: "flag", number: 100, label: OPTIONAL, type: BOOL, extendee: ".test.reflection.Base" },
    ],
  }),
  (name) => (name === file_google_protobuf_timestamp.proto.name ? file_google_protobuf_timestamp : undefined),
).getFile("test/reflection/fixture.proto")!;

/**
 * test/reflection/probe.proto: a service over google.protobuf.FieldOptions, which buf/validate
 * extends, so that a client must resolve imports and extensions through reflection to call it.
 */
export const probeFile: DescFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/reflection/probe.proto",
    package: "test.reflection",
    syntax: "proto3",
    dependency: ["google/protobuf/descriptor.proto", "buf/validate/validate.proto"],
    service: [
      {
        name: "ProbeService",
        method: [
          { name: "Echo", inputType: ".google.protobuf.FieldOptions", outputType: ".google.protobuf.FieldOptions" },
        ],
      },
    ],
  }),
  (name) => [file_google_protobuf_descriptor, file_buf_validate_validate].find((file) => file.proto.name === name),
).getFile("test/reflection/probe.proto")!;

// Typed the way generated code types its services (protoc-gen-es casts the same way).
export const ProbeService = probeFile.services[0]! as GenService<{
  echo: { methodKind: "unary"; input: typeof FieldOptionsSchema; output: typeof FieldOptionsSchema };
}>;
