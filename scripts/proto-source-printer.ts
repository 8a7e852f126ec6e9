// Prints a FileDescriptorProto back as .proto source text.
//
// Used by vendor-protos.ts to recreate third-party .proto files (protovalidate's) from the
// descriptors that npm packages embed, because `buf dep update` cannot reach the registry here.
// It covers proto2 and proto3 files: imports, file/message/field/enum/service options (custom
// options are decoded from unknown fields through the given registry), nested messages and
// enums, maps, oneofs, proto3 optional, defaults, extension ranges, reserved ranges and names,
// and `extend` blocks. Anything it cannot print faithfully (groups, editions, unknown option
// fields with no registered extension) throws instead of being dropped silently.
import { getExtension, isFieldSet } from "@bufbuild/protobuf";
import type { DescExtension, DescMessage, Message, Registry } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  ExtensionRangeOptionsSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  MethodOptionsSchema,
  OneofOptionsSchema,
  ServiceOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import type {
  DescriptorProto,
  EnumDescriptorProto,
  FieldDescriptorProto,
  FileDescriptorProto,
  ServiceDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import {
  defaultJsonName,
  defaultLiteral,
  fieldAssignments,
  indentTail,
  INDENT,
  inlineOptions,
  quote,
  scalarOrEnumText,
} from "./proto-text-format.js";

// Extension ranges and reserved ranges are end-exclusive; 2^29 means "max".
const MAX_FIELD_NUMBER_EXCLUSIVE = 536870912;

const scalarKeywords: Partial<Record<Type, string>> = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

/** Prints `file` as .proto source; `registry` must know the extensions used as custom options. */
export function printProtoFile(file: FileDescriptorProto, registry: Registry): string {
  if (file.edition !== 0 || (file.syntax !== "" && file.syntax !== "proto2" && file.syntax !== "proto3")) {
    throw new Error(`${file.name}: only proto2 and proto3 files can be printed (syntax "${file.syntax}")`);
  }
  return new Printer(file, registry).print();
}

class Printer {
  private readonly out: string[] = [];
  private readonly proto3: boolean;
  private readonly symbols = new Set<string>();

  constructor(
    private readonly file: FileDescriptorProto,
    private readonly registry: Registry,
  ) {
    this.proto3 = file.syntax === "proto3";
    this.collectSymbols();
  }

  print(): string {
    const f = this.file;
    this.line(0, `syntax = "${this.proto3 ? "proto3" : "proto2"}";`);
    this.line(0, "");
    if (f.package !== "") {
      this.line(0, `package ${f.package};`, "");
    }
    if (f.dependency.length > 0) {
      f.dependency.forEach((dep, i) => {
        const kind = f.publicDependency.includes(i) ? "public " : f.weakDependency.includes(i) ? "weak " : "";
        this.line(0, `import ${kind}${quote(dep)};`);
      });
      this.line(0, "");
    }
    const scope = this.packageScope();
    if (this.statementOptions(0, FileOptionsSchema, f.options, scope)) this.line(0, "");
    for (const m of f.messageType) this.message(0, m, scope);
    for (const e of f.enumType) this.enumType(0, e, scope);
    this.extensions(0, f.extension, scope);
    for (const s of f.service) this.service(s, scope);
    while (this.out.length > 0 && this.out[this.out.length - 1] === "") this.out.pop();
    return `${this.out.join("\n")}\n`;
  }

  private message(depth: number, m: DescriptorProto, parentScope: string): void {
    const scope = `${parentScope}.${m.name}`;
    this.line(depth, `message ${m.name} {`);
    const inner = depth + 1;
    this.statementOptions(inner, MessageOptionsSchema, m.options, scope);
    const mapEntries = new Map<string, DescriptorProto>();
    for (const n of m.nestedType) {
      if (n.options?.mapEntry === true) mapEntries.set(`${scope}.${n.name}`, n);
    }
    const printedOneofs = new Set<number>();
    for (const field of m.field) {
      const oneof = isSet(field, "oneofIndex") ? field.oneofIndex : undefined;
      if (oneof !== undefined && field.proto3Optional !== true) {
        if (printedOneofs.has(oneof)) continue;
        printedOneofs.add(oneof);
        const decl = m.oneofDecl[oneof];
        if (decl === undefined) throw new Error(`${scope}: bad oneof index ${oneof}`);
        this.line(inner, `oneof ${decl.name} {`);
        this.statementOptions(inner + 1, OneofOptionsSchema, decl.options, scope);
        for (const member of m.field) {
          if (isSet(member, "oneofIndex") && member.oneofIndex === oneof && member.proto3Optional !== true) {
            this.field(inner + 1, member, scope, mapEntries, "none");
          }
        }
        this.line(inner, "}");
        continue;
      }
      this.field(inner, field, scope, mapEntries, "normal");
    }
    for (const e of m.enumType) this.enumType(inner, e, scope);
    for (const n of m.nestedType) {
      if (!mapEntries.has(`${scope}.${n.name}`)) this.message(inner, n, scope);
    }
    this.extensions(inner, m.extension, scope);
    for (const r of m.extensionRange) {
      const opts = this.optionList(ExtensionRangeOptionsSchema, r.options, scope);
      this.line(inner, `extensions ${range(r.start, r.end - 1)}${inlineOptions(inner, opts)};`);
    }
    if (m.reservedRange.length > 0) {
      this.line(inner, `reserved ${m.reservedRange.map((r) => range(r.start, r.end - 1)).join(", ")};`);
    }
    if (m.reservedName.length > 0) {
      this.line(inner, `reserved ${m.reservedName.map(quote).join(", ")};`);
    }
    this.line(depth, "}", "");
  }

  private field(
    depth: number,
    f: FieldDescriptorProto,
    scope: string,
    mapEntries: Map<string, DescriptorProto>,
    labels: "normal" | "none" | "extension",
  ): void {
    if (f.type === Type.GROUP) throw new Error(`${scope}.${f.name}: groups are not supported`);
    let typeText: string;
    const entry = f.type === Type.MESSAGE ? mapEntries.get(f.typeName.slice(1)) : undefined;
    if (entry !== undefined && f.label === Label.REPEATED) {
      const key = entry.field.find((x) => x.number === 1);
      const value = entry.field.find((x) => x.number === 2);
      if (key === undefined || value === undefined) throw new Error(`${scope}.${f.name}: bad map entry`);
      typeText = `map<${this.typeName(key, scope)}, ${this.typeName(value, scope)}>`;
    } else {
      typeText = this.typeName(f, scope);
      const label = labels === "none" ? "" : this.label(f, labels === "extension");
      if (label !== "") typeText = `${label} ${typeText}`;
    }
    const opts: string[] = [];
    if (isSet(f, "defaultValue")) opts.push(`default = ${defaultLiteral(f)}`);
    if (isSet(f, "jsonName") && labels !== "extension" && f.jsonName !== defaultJsonName(f.name)) {
      opts.push(`json_name = ${quote(f.jsonName)}`);
    }
    opts.push(...this.optionList(FieldOptionsSchema, f.options, scope));
    this.line(depth, `${typeText} ${f.name} = ${f.number}${inlineOptions(depth, opts)};`);
  }

  private label(f: FieldDescriptorProto, extension: boolean): string {
    if (f.label === Label.REPEATED) return "repeated";
    if (f.label === Label.REQUIRED) return "required";
    if (this.proto3) return f.proto3Optional === true ? "optional" : "";
    return extension || f.label === Label.OPTIONAL ? "optional" : "";
  }

  private typeName(f: FieldDescriptorProto, scope: string): string {
    const keyword = scalarKeywords[f.type];
    if (keyword !== undefined) return keyword;
    return this.relativeName(f.typeName, scope);
  }

  private enumType(depth: number, e: EnumDescriptorProto, scope: string): void {
    this.line(depth, `enum ${e.name} {`);
    this.statementOptions(depth + 1, EnumOptionsSchema, e.options, scope);
    for (const v of e.value) {
      const opts = this.optionList(EnumValueOptionsSchema, v.options, scope);
      this.line(depth + 1, `${v.name} = ${v.number}${inlineOptions(depth + 1, opts)};`);
    }
    // Enum reserved ranges are end-inclusive, unlike message ones.
    if (e.reservedRange.length > 0) {
      this.line(depth + 1, `reserved ${e.reservedRange.map((r) => range(r.start, r.end)).join(", ")};`);
    }
    if (e.reservedName.length > 0) {
      this.line(depth + 1, `reserved ${e.reservedName.map(quote).join(", ")};`);
    }
    this.line(depth, "}", "");
  }

  // Consecutive extensions of the same extendee share one `extend` block, keeping declaration order.
  private extensions(depth: number, exts: FieldDescriptorProto[], scope: string): void {
    const blocks: Array<{ extendee: string; fields: FieldDescriptorProto[] }> = [];
    for (const ext of exts) {
      const last = blocks.at(-1);
      if (last?.extendee === ext.extendee) last.fields.push(ext);
      else blocks.push({ extendee: ext.extendee, fields: [ext] });
    }
    for (const { extendee, fields } of blocks) {
      this.line(depth, `extend ${this.relativeName(extendee, scope)} {`);
      for (const field of fields) this.field(depth + 1, field, scope, new Map(), "extension");
      this.line(depth, "}", "");
    }
  }

  private service(s: ServiceDescriptorProto, parentScope: string): void {
    this.line(0, `service ${s.name} {`);
    this.statementOptions(1, ServiceOptionsSchema, s.options, parentScope);
    for (const m of s.method) {
      const input = `${m.clientStreaming === true ? "stream " : ""}${this.relativeName(m.inputType, parentScope)}`;
      const output = `${m.serverStreaming === true ? "stream " : ""}${this.relativeName(m.outputType, parentScope)}`;
      const head = `rpc ${m.name}(${input}) returns (${output})`;
      const opts = this.optionList(MethodOptionsSchema, m.options, parentScope);
      if (opts.length === 0) {
        this.line(1, `${head};`);
      } else {
        this.line(1, `${head} {`);
        for (const o of opts) this.line(2, `option ${indentTail(o, 2)};`);
        this.line(1, "}");
      }
    }
    this.line(0, "}", "");
  }

  /** Prints `option x = y;` statements; returns whether any were printed. */
  private statementOptions(depth: number, schema: DescMessage, opts: Message | undefined, scope: string): boolean {
    const list = this.optionList(schema, opts, scope);
    for (const o of list) this.line(depth, `option ${indentTail(o, depth)};`);
    return list.length > 0;
  }

  /** Every set option as `name = value` (values may span lines, indented from column 0). */
  private optionList(schema: DescMessage, opts: Message | undefined, scope: string): string[] {
    if (opts === undefined) return [];
    const r = reflect(schema, opts);
    const result: string[] = [];
    for (const field of r.fields) {
      if (!r.isSet(field)) continue;
      if (field.number === 999) throw new Error(`${scope}: uninterpreted options cannot be printed`);
      result.push(...fieldAssignments(field.name, field, r, " = "));
    }
    const seen = new Set<number>();
    for (const u of r.getUnknown() ?? []) {
      if (seen.has(u.no)) continue;
      seen.add(u.no);
      const ext = this.registry.getExtensionFor(schema, u.no);
      if (ext === undefined) {
        throw new Error(`${scope}: option field ${u.no} of ${schema.typeName} is not a known extension`);
      }
      result.push(...this.extensionAssignments(ext, opts, scope));
    }
    return result;
  }

  // A message-typed custom option is printed one sub-field per statement, the way upstream
  // protovalidate writes `(predefined).cel = {...}` once per CEL rule.
  private extensionAssignments(ext: DescExtension, opts: Message, scope: string): string[] {
    this.addSymbol(ext.typeName);
    const name = `(${this.relativeName(`.${ext.typeName}`, scope)})`;
    const value: unknown = getExtension(opts, ext);
    if (ext.fieldKind !== "message") {
      return [`${name} = ${scalarOrEnumText(ext, value)}`];
    }
    const r = reflect(ext.message, value as Message);
    const parts: string[] = [];
    for (const field of r.fields) {
      if (r.isSet(field)) parts.push(...fieldAssignments(`${name}.${field.name}`, field, r, " = "));
    }
    if ((r.getUnknown() ?? []).length > 0) throw new Error(`${scope}: ${name} has unknown fields`);
    return parts.length > 0 ? parts : [`${name} = {}`];
  }

  /** Shortest name that resolves to `fullName` (leading dot) from `scope`, else the absolute name. */
  private relativeName(fullName: string, scope: string): string {
    const target = fullName.slice(1);
    const scopes = scope === "" ? [""] : prefixes(scope);
    const parts = target.split(".");
    // Shortest first: the last component alone, then the last two, and so on.
    for (let start = parts.length - 1; start >= 0; start--) {
      const candidate = parts.slice(start).join(".");
      const first = parts[start];
      // protoc resolves the first component in the innermost scope that defines it.
      const hit = scopes.find((s) => this.symbols.has(s === "" ? first : `${s}.${first}`));
      if (hit !== undefined && (hit === "" ? candidate : `${hit}.${candidate}`) === target) {
        return candidate;
      }
    }
    return fullName;
  }

  private packageScope(): string {
    return this.file.package;
  }

  // A name and every package or message prefix of it.
  private addSymbol(name: string): void {
    const parts = name.split(".");
    for (let i = 1; i <= parts.length; i++) this.symbols.add(parts.slice(0, i).join("."));
  }

  private collectSymbols(): void {
    const add = (name: string): void => this.addSymbol(name);
    const pkg = this.file.package;
    const join = (a: string, b: string): string => (a === "" ? b : `${a}.${b}`);
    if (pkg !== "") add(pkg);
    const addEnum = (e: EnumDescriptorProto, s: string): void => {
      add(join(s, e.name));
      for (const v of e.value) add(join(s, v.name));
    };
    const addMessage = (m: DescriptorProto, s: string): void => {
      const ms = join(s, m.name);
      add(ms);
      for (const f of m.field) add(join(ms, f.name));
      for (const o of m.oneofDecl) add(join(ms, o.name));
      for (const x of m.extension) add(join(ms, x.name));
      for (const e of m.enumType) addEnum(e, ms);
      for (const n of m.nestedType) addMessage(n, ms);
    };
    for (const m of this.file.messageType) addMessage(m, pkg);
    for (const e of this.file.enumType) addEnum(e, pkg);
    for (const x of this.file.extension) add(join(pkg, x.name));
    for (const s of this.file.service) add(join(pkg, s.name));
    // Names from imports: every referenced type outside this file, with its package prefixes.
    const visitRefs = (m: DescriptorProto): void => {
      for (const f of [...m.field, ...m.extension]) {
        if (f.typeName !== "") add(f.typeName.slice(1));
        if (f.extendee !== "") add(f.extendee.slice(1));
      }
      m.nestedType.forEach(visitRefs);
    };
    this.file.messageType.forEach(visitRefs);
    for (const x of this.file.extension) {
      if (x.typeName !== "") add(x.typeName.slice(1));
      add(x.extendee.slice(1));
    }
    for (const s of this.file.service) {
      for (const m of s.method) {
        add(m.inputType.slice(1));
        add(m.outputType.slice(1));
      }
    }
  }

  private line(depth: number, text: string, ...more: string[]): void {
    this.out.push(text === "" ? "" : INDENT.repeat(depth) + text, ...more);
  }
}

// proto2 optional fields read as their default when unset, so presence needs asking.
function isSet(f: FieldDescriptorProto, name: "oneofIndex" | "defaultValue" | "jsonName"): boolean {
  return isFieldSet(f, FieldDescriptorProtoSchema.field[name]);
}

function range(start: number, endInclusive: number): string {
  if (endInclusive === MAX_FIELD_NUMBER_EXCLUSIVE - 1 || endInclusive === 2147483647) return `${start} to max`;
  return start === endInclusive ? String(start) : `${start} to ${endInclusive}`;
}

function prefixes(scope: string): string[] {
  const parts = scope.split(".");
  const out: string[] = [];
  for (let i = parts.length; i >= 1; i--) out.push(parts.slice(0, i).join("."));
  out.push("");
  return out;
}
