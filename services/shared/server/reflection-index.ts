// The lookups gRPC reflection needs, over the descriptors embedded in the generated code:
// files by name, the file that defines a symbol or an extension, and the encoded
// FileDescriptorProto of each file.
import { create, createFileRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescService, FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export interface DescriptorIndex {
  /** Fully qualified names of the services served, in registration order. */
  readonly serviceNames: readonly string[];
  fileByName(name: string): DescFile | undefined;
  /** Services, methods, messages, fields, oneofs, enums, enum values and extensions. */
  fileContainingSymbol(symbol: string): DescFile | undefined;
  fileContainingExtension(extendee: string, fieldNumber: number): DescFile | undefined;
  /** undefined when no such message type is known. */
  extensionNumbersOf(extendee: string): number[] | undefined;
  /** Every file `file` imports, directly or not, nearest first, each once. */
  dependenciesOf(file: DescFile): DescFile[];
  /** The serialized google.protobuf.FileDescriptorProto of a file in the index. */
  encodedFile(name: string): Uint8Array;
}

export function createDescriptorIndex(
  services: readonly DescService[],
  extraFiles: readonly DescFile[],
): DescriptorIndex {
  const registry = registryOf([...services.map((service) => service.file), ...extraFiles]);
  const symbols = symbolsOf(registry);
  const encoded = new Map<string, Uint8Array>();

  return {
    serviceNames: [...new Set(services.map((service) => service.typeName))],
    fileByName: (name) => registry.getFile(name),
    fileContainingSymbol: (symbol) => symbols.get(symbol),
    fileContainingExtension(extendee, fieldNumber) {
      const message = registry.getMessage(extendee);
      return message && registry.getExtensionFor(message, fieldNumber)?.file;
    },
    extensionNumbersOf(extendee) {
      if (registry.getMessage(extendee) === undefined) return undefined;
      const numbers: number[] = [];
      for (const type of registry) {
        if (type.kind === "extension" && type.extendee.typeName === extendee) {
          numbers.push(type.number);
        }
      }
      return numbers.sort((a, b) => a - b);
    },
    dependenciesOf(file) {
      const found = new Map<string, DescFile>();
      const queue = [...file.dependencies];
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        if (found.has(next.proto.name) || next.proto.name === file.proto.name) continue;
        found.set(next.proto.name, next);
        queue.push(...next.dependencies);
      }
      return [...found.values()];
    },
    encodedFile(name) {
      let bytes = encoded.get(name);
      if (bytes === undefined) {
        const file = registry.getFile(name);
        if (file === undefined) throw new Error(`no file "${name}" in the reflection index`);
        bytes = toBinary(FileDescriptorProtoSchema, file.proto);
        encoded.set(name, bytes);
      }
      return bytes;
    },
  };
}

/** One registry of the given files and everything they import. */
function registryOf(roots: readonly DescFile[]): FileRegistry {
  // A FileDescriptorSet must list each file after the files it imports.
  const ordered = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (ordered.has(file.proto.name)) return;
    file.dependencies.forEach(visit);
    ordered.set(file.proto.name, file);
  };
  roots.forEach(visit);
  return createFileRegistry(create(FileDescriptorSetSchema, { file: [...ordered.values()].map((file) => file.proto) }));
}

function symbolsOf(registry: FileRegistry): Map<string, DescFile> {
  const symbols = new Map<string, DescFile>();
  for (const type of registry) {
    symbols.set(type.typeName, type.file);
    switch (type.kind) {
      case "service":
        for (const method of type.methods) symbols.set(`${type.typeName}.${method.name}`, type.file);
        break;
      case "message":
        for (const field of type.fields) symbols.set(`${type.typeName}.${field.name}`, type.file);
        for (const oneof of type.oneofs) symbols.set(`${type.typeName}.${oneof.name}`, type.file);
        break;
      case "enum": {
        // Enum values are scoped like C++ enumerators: beside their enum, not inside it.
        const scope = type.typeName.slice(0, type.typeName.lastIndexOf(".") + 1);
        for (const value of type.values) symbols.set(`${scope}${value.name}`, type.file);
        break;
      }
      case "extension":
        break;
    }
  }
  return symbols;
}
