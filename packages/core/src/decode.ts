import {
  create,
  type DescField,
  type DescMessage,
  fromBinary,
  type MessageShape,
  ScalarType,
  type UnknownField,
} from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

// A binary decoder made once per message type. protobuf-es's `fromBinary` goes through its
// reflection API for every message: a reflection object, a map of the fields by number and
// checked setters, built again per message (and per nested message). A stream decodes the
// same types again and again, so this looks each field up in a table made once, and sets
// the plain property protobuf-es would set. The message it makes is the one `fromBinary`
// makes, unknown fields included (tested against it field kind by field kind); types with
// something it does not do the same way (maps, groups, closed enums, the wrapper and Struct
// types protobuf-es unwraps) are decoded by `fromBinary` itself.

/** A field's reader: reads one occurrence of it (its tag already read) into `message`. */
type FieldReader = (reader: BinaryReader, message: Record<string, unknown>, wireType: WireType, depth: number) => void;

/** A message type's decoder (`depth`: nesting, bounded as protobuf-es bounds it). */
type Decoder = (
  reader: BinaryReader,
  length: number,
  target: Record<string, unknown> | undefined,
  depth: number,
) => object;

/** protobuf-es's default recursion limit. */
const RECURSION_LIMIT = 100;

/** Types protobuf-es represents differently from their messages in a field. */
const UNWRAPPED = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Struct",
]);

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
  if (!supported(desc, new Set())) {
    decoders.set(desc, null);
    return null;
  }
  const readers = new Map<number, FieldReader>();
  const decoder: Decoder = (reader, length, target, depth) => {
    if (depth + 1 > RECURSION_LIMIT)
      throw new Error(`cannot decode ${desc} from binary: maximum recursion depth of ${RECURSION_LIMIT} reached`);
    const message = target ?? (create(desc) as unknown as Record<string, unknown>);
    const end = reader.pos + length;
    let unknown: UnknownField[] | undefined;
    while (reader.pos < end) {
      const [no, wireType] = reader.tag();
      const read = readers.get(no);
      if (read === undefined) {
        const data = reader.skip(wireType, no, RECURSION_LIMIT - depth - 1);
        unknown ??= (message.$unknown as UnknownField[] | undefined) ?? [];
        unknown.push({ no, wireType, data });
        continue;
      }
      read(reader, message, wireType, depth + 1);
    }
    if (unknown !== undefined && unknown.length > 0) message.$unknown = unknown;
    return message;
  };
  // In the table before its fields are made: a type that contains itself finds its own decoder.
  decoders.set(desc, decoder);
  for (const field of desc.fields) readers.set(field.number, fieldReader(field));
  return decoder;
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

/** Whether a nested message type is read as protobuf-es reads it (not a group, not unwrapped). */
function nestedOk(desc: DescMessage, delimited: boolean, visiting: Set<DescMessage>): boolean {
  return !delimited && !UNWRAPPED.has(desc.typeName) && supported(desc, visiting);
}

/** The reader of one field of a {@link supported} type. */
function fieldReader(field: DescField): FieldReader {
  const name = field.localName;
  const oneof = field.oneof?.localName;
  const set = (message: Record<string, unknown>, value: unknown) => {
    if (oneof === undefined) message[name] = value;
    else message[oneof] = { case: name, value };
  };
  switch (field.fieldKind) {
    case "scalar": {
      const read = scalarReader(field.scalar, field.longAsString, field.utf8Validation);
      return (reader, message) => set(message, read(reader));
    }
    case "enum":
      return (reader, message) => set(message, reader.int32());
    case "message": {
      const sub = nested(field.message);
      return (reader, message, _wireType, depth) => {
        // A repeated occurrence of a message field merges into the message read before.
        const current =
          oneof === undefined
            ? message[name]
            : (message[oneof] as { case?: string; value?: unknown }).case === name
              ? (message[oneof] as { value: unknown }).value
              : undefined;
        set(message, sub(reader, reader.uint32(), current as Record<string, unknown> | undefined, depth));
      };
    }
    case "list": {
      if (field.listKind === "message") {
        const sub = nested(field.message);
        return (reader, message, _wireType, depth) => {
          (message[name] as unknown[]).push(sub(reader, reader.uint32(), undefined, depth));
        };
      }
      const scalar = field.listKind === "scalar" ? field.scalar : ScalarType.INT32;
      const read = scalarReader(scalar, field.listKind === "scalar" && field.longAsString, field.utf8Validation);
      const packable = scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES;
      return (reader, message, wireType) => {
        const list = message[name] as unknown[];
        if (!packable || wireType !== WireType.LengthDelimited) {
          list.push(read(reader));
          return;
        }
        const end = reader.uint32() + reader.pos;
        while (reader.pos < end) list.push(read(reader));
      };
    }
    default:
      throw new Error(`${field} is not read by the type's decoder`);
  }
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

/** How one scalar is read, converted as protobuf-es converts it (64-bit ints as strings with `jstype = JS_STRING`). */
function scalarReader(type: ScalarType, longAsString: boolean, utf8Validation: boolean): (r: BinaryReader) => unknown {
  const long = (read: (r: BinaryReader) => bigint | string) =>
    longAsString ? (r: BinaryReader) => String(read(r)) : read;
  switch (type) {
    case ScalarType.STRING:
      return (r) => r.string(utf8Validation);
    case ScalarType.BOOL:
      return (r) => r.bool();
    case ScalarType.DOUBLE:
      return (r) => r.double();
    case ScalarType.FLOAT:
      return (r) => r.float();
    case ScalarType.INT32:
      return (r) => r.int32();
    case ScalarType.INT64:
      return long((r) => r.int64());
    case ScalarType.UINT64:
      return long((r) => r.uint64());
    case ScalarType.FIXED64:
      return long((r) => r.fixed64());
    case ScalarType.BYTES:
      return (r) => r.bytes();
    case ScalarType.FIXED32:
      return (r) => r.fixed32();
    case ScalarType.SFIXED32:
      return (r) => r.sfixed32();
    case ScalarType.SFIXED64:
      return long((r) => r.sfixed64());
    case ScalarType.SINT64:
      return long((r) => r.sint64());
    case ScalarType.UINT32:
      return (r) => r.uint32();
    case ScalarType.SINT32:
      return (r) => r.sint32();
  }
}
