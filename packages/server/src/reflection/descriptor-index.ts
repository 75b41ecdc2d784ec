import {
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescService,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";

/**
 * What server reflection answers from: the protobuf files of a set of services and, through
 * their imports, every file they depend on, by file name, by the symbols they define and by
 * the extensions they declare. Built from the descriptors protobuf-es generated code embeds
 * (`file_...` exports, each carrying its `FileDescriptorProto`).
 */
export class DescriptorIndex {
  /** The fully qualified names of the services, sorted. */
  readonly services: readonly string[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #messages = new Set<string>();
  readonly #extensions = new Map<string, DescExtension[]>();
  readonly #bytes = new Map<string, Uint8Array>();

  /** Indexes the files defining `services` and, transitively, every file they import. */
  constructor(services: Iterable<DescService>) {
    const names = new Set<string>();
    for (const s of services) {
      names.add(s.typeName);
      this.#addFile(s.file);
    }
    this.services = [...names].sort();
  }

  /** The file of this name (e.g. `orca/v1/orca_v1.proto`), if indexed. */
  file(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  /**
   * The file defining a fully qualified symbol: a service, method, message (nested too),
   * field, oneof, enum, enum value (named in its enum's scope, as protobuf scopes them, or
   * under the enum) or extension. A leading dot is allowed.
   */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.#symbols.get(symbol.startsWith(".") ? symbol.slice(1) : symbol);
  }

  /** Whether `typeName` is a message of an indexed file. */
  hasMessage(typeName: string): boolean {
    return this.#messages.has(typeName);
  }

  /** The extensions of a message declared in indexed files, by number. */
  extensionsOf(typeName: string): readonly DescExtension[] {
    return this.#extensions.get(typeName) ?? [];
  }

  /**
   * The serialized `FileDescriptorProto`s of `file` and then of those of its transitive
   * dependencies not in `sent` (which it adds to): the file asked for is always included,
   * dependencies once per stream, as gRPC's own reflection servers answer.
   */
  withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue: DescFile[] = [file];
    // Each file enters the queue at most once (sent grows before a file is queued), so
    // this ends after at most one pass over the indexed files.
    sent.add(file.proto.name);
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      out.push(this.#serialized(f));
      for (const dep of f.dependencies) {
        if (sent.has(dep.proto.name)) continue;
        sent.add(dep.proto.name);
        queue.push(dep);
      }
    }
    return out;
  }

  #serialized(file: DescFile): Uint8Array {
    let bytes = this.#bytes.get(file.proto.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#bytes.set(file.proto.name, bytes);
    }
    return bytes;
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    const pkg = file.proto.package;
    for (const m of file.messages) this.#addMessage(file, m);
    for (const e of file.enums) this.#addEnum(file, e, pkg);
    for (const x of file.extensions) this.#addExtension(file, x);
    for (const s of file.services) {
      this.#symbols.set(s.typeName, file);
      for (const m of s.methods) this.#symbols.set(`${s.typeName}.${m.name}`, file);
    }
    for (const dep of file.dependencies) this.#addFile(dep);
  }

  #addMessage(file: DescFile, m: DescMessage): void {
    this.#symbols.set(m.typeName, file);
    this.#messages.add(m.typeName);
    for (const f of m.fields) this.#symbols.set(`${m.typeName}.${f.name}`, file);
    for (const o of m.oneofs) this.#symbols.set(`${m.typeName}.${o.name}`, file);
    for (const n of m.nestedMessages) this.#addMessage(file, n);
    for (const e of m.nestedEnums) this.#addEnum(file, e, m.typeName);
    for (const x of m.nestedExtensions) this.#addExtension(file, x);
  }

  #addEnum(file: DescFile, e: DescEnum, scope: string): void {
    this.#symbols.set(e.typeName, file);
    for (const v of e.values) {
      this.#symbols.set(scope === "" ? v.name : `${scope}.${v.name}`, file);
      this.#symbols.set(`${e.typeName}.${v.name}`, file);
    }
  }

  #addExtension(file: DescFile, x: DescExtension): void {
    this.#symbols.set(x.typeName, file);
    const list = this.#extensions.get(x.extendee.typeName) ?? [];
    list.push(x);
    this.#extensions.set(x.extendee.typeName, list);
  }
}
