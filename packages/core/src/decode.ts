import { create, type DescMessage, fromBinary, type MessageShape, protoInt64, ScalarType } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

// A binary decoder made once per message type. protobuf-es's `fromBinary` goes through its
// reflection API for every message: a reflection object, a map of the fields by number and
// checked setters, built again per message (and per nested message). A stream decodes the
// same types again and again, so this makes code for each type once (as protobufjs does): a
// `switch` on the field number that sets the plain property protobuf-es would set. The
// message it makes is the one `fromBinary` makes, unknown fields included (tested against
// it on every type Baton speaks); types with something it does not do the same way (maps,
// groups, closed enums, the wrapper and Struct types protobuf-es unwraps) are decoded by
// `fromBinary` itself, as is everything where code cannot be made (a Content-Security-Policy
// without 'unsafe-eval' in a browser).

/** A message type's decoder (`depth`: nesting, bounded as protobuf-es bounds it). */
type Decoder = (
  reader: BinaryReader,
  length: number,
  target: Record<string, unknown> | undefined,
  depth: number,
) => object;

/** protobuf-es's default recursion limit. */
const RECURSION_LIMIT = 100;

const decoders = new WeakMap<DescMessage, Decoder | null>();

/**
 * Decodes `bytes` as `schema`, as `fromBinary(schema, bytes)` does (the same message, the
 * same unknown fields), with a decoder made once per type.
 *
 * @throws {Error} when the bytes are not a valid encoding of `schema`.
 */
export function decodeBinary<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  const decode = decoderOf(schema);
  if (decode === null) return fromBinary(schema, bytes);
  return decode(new BinaryReader(bytes), bytes.byteLength, undefined, 0) as MessageShape<Desc>;
}

/**
 * Whether {@link decodeBinary} decodes `schema` itself (false: it hands it to `fromBinary`).
 *
 * @internal
 */
export function hasFastDecoder(schema: DescMessage): boolean {
  return decoderOf(schema) !== null;
}

/** The decoder of `desc`, or null when `fromBinary` must decode it. */
function decoderOf(desc: DescMessage): Decoder | null {
  const known = decoders.get(desc);
  if (known !== undefined) return known;
  let decoder: Decoder | null = null;
  if (supported(desc, new Set())) {
    try {
      decoder = compile(desc);
    } catch {
      // No code generation here (a Content-Security-Policy without 'unsafe-eval').
      decoder = null;
    }
  }
  decoders.set(desc, decoder);
  return decoder;
}

/**
 * The decoder of a {@link supported} type, as code made for it: each field is read by a
 * `case` of its own and stored under its own name, so the engine sees one shape and one
 * property per store (one function for every type would see them all).
 */
function compile(desc: DescMessage): Decoder {
  const nestedTypes: DescMessage[] = [];
  const sub = (d: DescMessage) => {
    let i = nestedTypes.indexOf(d);
    if (i < 0) i = nestedTypes.push(d) - 1;
    return `sub${i}`;
  };
  const cases: string[] = [];
  for (const field of desc.fields) {
    const name = JSON.stringify(field.localName);
    const oneof = field.oneof ? JSON.stringify(field.oneof.localName) : undefined;
    const set = (value: string) =>
      oneof === undefined ? `m[${name}] = ${value};` : `m[${oneof}] = { case: ${name}, value: ${value} };`;
    let body: string;
    switch (field.fieldKind) {
      case "scalar":
        body = set(scalarRead(field.scalar, field.longAsString, field.utf8Validation));
        break;
      case "enum":
        body = set("reader.int32()");
        break;
      case "message": {
        // A repeated occurrence of a message field merges into the message read before.
        const current =
          oneof === undefined ? `m[${name}]` : `(m[${oneof}].case === ${name} ? m[${oneof}].value : undefined)`;
        body = set(`${sub(field.message)}(reader, reader.uint32(), ${current}, depth + 1)`);
        break;
      }
      case "list":
        if (field.listKind === "message") {
          body = `m[${name}].push(${sub(field.message)}(reader, reader.uint32(), undefined, depth + 1));`;
        } else {
          const scalar = field.listKind === "scalar" ? field.scalar : ScalarType.INT32;
          const read = scalarRead(scalar, field.listKind === "scalar" && field.longAsString, field.utf8Validation);
          body =
            scalar === ScalarType.STRING || scalar === ScalarType.BYTES
              ? `m[${name}].push(${read});`
              : `if (wireType !== ${WireType.LengthDelimited}) { m[${name}].push(${read}); } else { const e = reader.uint32() + reader.pos; const l = m[${name}]; while (reader.pos < e) l.push(${read}); }`;
        }
        break;
      default:
        throw new Error(`${field} is not read by a compiled decoder`);
    }
    cases.push(`case ${field.number}: { ${body} break; }`);
  }
  const code = `
    return function decode(reader, length, target, depth) {
      if (depth + 1 > ${RECURSION_LIMIT}) throw new Error(limitMessage);
      const m = target === undefined ? zero() : target;
      const end = reader.pos + length;
      let unknown;
      while (reader.pos < end) {
        // reader.tag(), without an array per field.
        const start = reader.pos;
        const tag = reader.uint32();
        if (reader.pos - start > 5 || (reader.pos - start === 5 && reader.buf[reader.pos - 1] > 0x0f))
          throw new Error("illegal tag: varint overflows uint32");
        const no = tag >>> 3;
        const wireType = tag & 7;
        if (no <= 0 || wireType > 5) throw new Error("illegal tag: field no " + no + " wire type " + wireType);
        switch (no) {
          ${cases.join("\n          ")}
          default: {
            const data = reader.skip(wireType, no, ${RECURSION_LIMIT} - depth - 1);
            if (unknown === undefined) unknown = m.$unknown === undefined ? [] : m.$unknown;
            unknown.push({ no, wireType, data });
          }
        }
      }
      if (unknown !== undefined && unknown.length > 0) m.$unknown = unknown;
      return m;
    };`;
  const subs = nestedTypes.map((d) => nested(d));
  const make = new Function(
    "zero",
    "limitMessage",
    "readString",
    "readInt64",
    ...subs.map((_, i) => `sub${i}`),
    code,
  ) as (...args: unknown[]) => Decoder;
  return make(
    zeroOf(desc),
    `cannot decode ${desc} from binary: maximum recursion depth of ${RECURSION_LIMIT} reached`,
    readString,
    readInt64,
    ...subs,
  );
}

/**
 * Makes `create(desc)`: an object literal made as code, with the zero message's own
 * properties in its order, the immutable values read from one zero message made once and a
 * new object for each mutable one (lists, maps, bytes, oneofs), as `create` makes them. A
 * literal, not a spread copy of that message: a property added to a spread copy (a message
 * field, set only when present) takes V8 a slow path, about 50 times the cost of the
 * literal. A type whose zero message has a prototype (proto2 defaults and presence), or a
 * property a literal cannot name as it is, is made by `create` itself.
 */
function zeroOf(desc: DescMessage): () => Record<string, unknown> {
  const template = create(desc) as unknown as Record<string, unknown>;
  const keys = Object.getOwnPropertyNames(template);
  const plain =
    Object.getPrototypeOf(template) === Object.prototype &&
    Object.getOwnPropertySymbols(template).length === 0 &&
    keys.every((key) => key !== "__proto__" && Object.getOwnPropertyDescriptor(template, key)?.enumerable === true);
  if (!plain) return () => create(desc) as unknown as Record<string, unknown>;
  const fresh = new Map<string, string>();
  for (const member of desc.members) {
    if (member.kind === "oneof") fresh.set(member.localName, "{ case: undefined }");
    else if (member.fieldKind === "list") fresh.set(member.localName, "[]");
    else if (member.fieldKind === "map") fresh.set(member.localName, "{}");
    else if (member.fieldKind === "scalar" && member.scalar === ScalarType.BYTES)
      fresh.set(member.localName, "new Uint8Array(0)");
  }
  const props = keys.map((key) => `${JSON.stringify(key)}: ${fresh.get(key) ?? `t[${JSON.stringify(key)}]`}`);
  return new Function("t", `return () => ({ ${props.join(", ")} });`)(template) as () => Record<string, unknown>;
}

/**
 * Whether every field of `desc`, and of every type it contains, is one this decoder reads
 * as protobuf-es does (`visiting`: the types on the way here, taken as supported).
 */
function supported(desc: DescMessage, visiting: Set<DescMessage>): boolean {
  if (decoders.has(desc) || visiting.has(desc)) return decoders.get(desc) !== null;
  visiting.add(desc);
  for (const field of desc.fields) {
    switch (field.fieldKind) {
      case "scalar":
        break;
      case "enum":
        if (!field.enum.open) return false;
        break;
      case "message":
        if (!nestedOk(field.message, field.delimitedEncoding, visiting)) return false;
        break;
      case "list":
        if (field.listKind === "enum" && !field.enum.open) return false;
        if (field.listKind === "message" && !nestedOk(field.message, field.delimitedEncoding, visiting)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * Whether a nested message type is read as protobuf-es reads it: not a group, and not a type
 * it represents otherwise in a field (a wrapper as its value, Struct as a JSON object).
 */
function nestedOk(desc: DescMessage, delimited: boolean, visiting: Set<DescMessage>): boolean {
  return !delimited && !isWrapperDesc(desc) && desc.typeName !== "google.protobuf.Struct" && supported(desc, visiting);
}

/**
 * A nested type's decoder, looked up when first used (a type that contains itself is
 * still being made when its fields are).
 */
function nested(desc: DescMessage): Decoder {
  let decoder: Decoder | undefined;
  return (reader, length, target, depth) => {
    decoder ??= decoderOf(desc) as Decoder;
    return decoder(reader, length, target, depth);
  };
}

/** The `BinaryReader` method that reads each scalar type. */
const SCALAR_READ: Record<ScalarType, string> = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64",
};

/** The 64-bit types, read as strings with `jstype = JS_STRING`. */
const LONG = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.FIXED64, ScalarType.SFIXED64, ScalarType.SINT64]);

/** The expression that reads one scalar, converted as protobuf-es converts it (64-bit ints as strings with `jstype = JS_STRING`). */
function scalarRead(type: ScalarType, longAsString: boolean, utf8Validation: boolean): string {
  let read: string;
  if (type === ScalarType.STRING) read = `readString(reader, ${utf8Validation})`;
  else if ((type === ScalarType.INT64 || type === ScalarType.UINT64) && protoInt64.supported)
    read = `readInt64(reader, ${type === ScalarType.INT64})`;
  else read = `reader.${SCALAR_READ[type]}()`;
  return longAsString && LONG.has(type) ? `String(${read})` : read;
}

/** The parts of `BinaryReader` the fast readers use (`buf` is protected in its typings). */
interface ReaderState {
  buf: Uint8Array;
  pos: number;
  len: number;
  decodeUtf8: (bytes: Uint8Array, strict?: boolean) => string;
}

/** Strings up to this many bytes are tried as ASCII, made from their bytes without a decoder. */
const ASCII_MAX = 32;

/**
 * `reader.string(strict)`: the same string and the same errors. An empty string and a short
 * ASCII one are made here: a `TextDecoder` call (and the view of the bytes it is handed)
 * costs more than the whole of a short string. Anything else goes to the reader's decoder.
 */
function readString(reader: BinaryReader, strict: boolean): string {
  const r = reader as unknown as ReaderState;
  const length = reader.uint32();
  const start = r.pos;
  const end = start + length;
  r.pos = end;
  if (end > r.len) throw new RangeError("premature EOF");
  if (length === 0) return "";
  const buf = r.buf;
  if (length <= ASCII_MAX) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return r.decodeUtf8(buf.subarray(start, end), strict);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return r.decodeUtf8(buf.subarray(start, end), strict);
}

/**
 * `reader.int64()` or `reader.uint64()` (as a bigint; only used where protobuf-es makes
 * bigints): a varint of up to 7 bytes (below 2^49, exact in a number, and never negative)
 * is read here, without the `[lo, hi]` array and the spread those make; a longer one, or
 * one cut short, is read again by the reader itself.
 */
function readInt64(reader: BinaryReader, signed: boolean): bigint {
  const r = reader as unknown as ReaderState;
  const buf = r.buf;
  const start = r.pos;
  let value = 0;
  let scale = 1;
  for (let i = start; i < start + 7 && i < r.len; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = i + 1;
      return BigInt(value);
    }
    scale *= 128;
  }
  return (signed ? reader.int64() : reader.uint64()) as bigint;
}
