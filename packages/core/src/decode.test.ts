// decodeBinary against protobuf-es's fromBinary, on every message type Baton speaks and on
// protobuf's well-known types (proto2, closed enums, wrappers, Struct, maps: the kinds the
// decoder leaves to fromBinary): random messages, unknown fields, merged occurrences,
// truncated and hostile input.
import * as baaaht from "@baton/wire/baaaht";
import * as edgemesh from "@baton/wire/edgemesh";
import * as rpc from "@baton/wire/google-rpc";
import * as reflection from "@baton/wire/grpc-reflection";
import * as orca from "@baton/wire/orca";
import * as portarium from "@baton/wire/portarium";
import * as stratavore from "@baton/wire/stratavore";
import {
  create,
  type DescField,
  type DescFile,
  type DescMessage,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import * as wkt from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { decodeBinary, hasFastDecoder } from "./decode.js";

/** Every message type of the files exported by `modules` (and their namespaces), nested ones too. */
function messageTypes(modules: object[]): DescMessage[] {
  const files = new Set<DescFile>();
  const visit = (value: unknown, depth: number) => {
    if (typeof value !== "object" || value === null || depth > 2) return;
    if ((value as { kind?: string }).kind === "file") {
      files.add(value as DescFile);
      for (const dep of (value as DescFile).dependencies) files.add(dep);
      return;
    }
    if ((value as { kind?: string }).kind !== undefined) return;
    for (const v of Object.values(value)) visit(v, depth + 1);
  };
  for (const m of modules) visit(m, 0);
  const out: DescMessage[] = [];
  const walk = (m: DescMessage) => {
    out.push(m);
    for (const n of m.nestedMessages) walk(n);
  };
  for (const f of files) for (const m of f.messages) walk(m);
  return out;
}

const types = messageTypes([baaaht, edgemesh, rpc, reflection, orca, portarium, stratavore, wkt]);

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = ReturnType<typeof rng>;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

function scalar(r: Rand, type: ScalarType, longAsString: boolean): unknown {
  const long = (v: bigint) => (longAsString ? String(v) : v);
  switch (type) {
    case ScalarType.STRING:
      return pick(r, ["", "a", "héllo wörld", "🙂", "x".repeat(200)]);
    case ScalarType.BYTES:
      return new Uint8Array(Array.from({ length: Math.floor(r() * 5) }, () => Math.floor(r() * 256)));
    case ScalarType.BOOL:
      return r() < 0.5;
    case ScalarType.DOUBLE:
      return pick(r, [0, -1.5, Math.PI, 1e300, Number.NaN, -0]);
    case ScalarType.FLOAT:
      return pick(r, [0, 1.5, -2.25, 1024]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return pick(r, [0, 1, -1, 2147483647, -2147483648, 300]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return pick(r, [0, 1, 4294967295, 300]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return long(pick(r, [0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n]));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return long(pick(r, [0n, 1n, 18446744073709551615n, 1n << 40n]));
  }
}

/** A random value for `field` (messages up to `depth` levels deep). */
function value(r: Rand, field: DescField, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(r, field.scalar, field.longAsString);
    case "enum":
      return pick(r, field.enum.values).number;
    case "message":
      return message(r, field.message, depth + 1);
    case "list": {
      const n = Math.floor(r() * 4);
      return Array.from({ length: n }, () =>
        field.listKind === "message"
          ? message(r, field.message, depth + 1)
          : field.listKind === "enum"
            ? pick(r, field.enum.values).number
            : scalar(r, field.scalar, field.longAsString),
      );
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 3); i++) {
        const key = String(scalar(r, field.mapKey, false));
        out[field.mapKey === ScalarType.BOOL ? String(r() < 0.5) : key] =
          field.mapKind === "message"
            ? message(r, field.message, depth + 1)
            : field.mapKind === "enum"
              ? pick(r, field.enum.values).number
              : scalar(r, field.scalar, false);
      }
      return out;
    }
  }
}

/** `FeatureSet.FieldPresence.LEGACY_REQUIRED`: a proto2 `required` field. */
const LEGACY_REQUIRED = 3;

/** A random message of `desc`: some fields set, oneofs on a random case. */
function message(r: Rand, desc: DescMessage, depth = 0): object {
  const init: Record<string, unknown> = {};
  for (const member of desc.members) {
    // proto2's required fields are always set (a message without one does not encode).
    const required = member.kind === "field" && member.presence === LEGACY_REQUIRED;
    if (required && member.fieldKind === "scalar") {
      init[member.localName] = scalar(r, member.scalar, member.longAsString);
      continue;
    }
    if (depth < 3 || required) {
      if (r() < 0.3 && !required) continue;
      if (member.kind === "oneof") {
        const f = pick(r, member.fields);
        init[member.localName] = { case: f.localName, value: value(r, f, depth) };
      } else {
        init[member.localName] = value(r, member, depth);
      }
    }
  }
  return create(desc, init as never);
}

/** What both decoders make of `bytes`: the message, or that both refused. */
function both(desc: DescMessage, bytes: Uint8Array) {
  let expected: unknown;
  let refused = false;
  try {
    expected = fromBinary(desc, bytes);
  } catch {
    refused = true;
  }
  if (refused) {
    expect(() => decodeBinary(desc, bytes)).toThrow();
    return;
  }
  const got = decodeBinary(desc, bytes);
  expect(got).toStrictEqual(expected);
  // The same properties in the same order (what `Object.keys`, a spread and JSON see).
  expect(Object.keys(got)).toEqual(Object.keys(expected as object));
}

/** A field's tag and value as bytes: a length-delimited `bytes` or a varint of `groups` 7-bit groups. */
function lengthDelimited(no: number, bytes: number[]): Uint8Array {
  return new Uint8Array([(no << 3) | 2, bytes.length, ...bytes]);
}

describe("decodeBinary", () => {
  it("covers every message type Baton speaks", () => {
    expect(types.length).toBeGreaterThan(150);
    expect(types.map((t) => t.typeName)).toContain("orca.v1.StreamEventsResponse");
    // Most take the fast way; what protobuf-es represents its own way takes fromBinary.
    expect(hasFastDecoder(orca.StreamEventsResponseSchema)).toBe(true);
    expect(hasFastDecoder(rpc.RetryInfoSchema)).toBe(true);
    expect(hasFastDecoder(rpc.ErrorInfoSchema)).toBe(false); // a map
    expect(hasFastDecoder(wkt.StructSchema)).toBe(false); // a map
    expect(hasFastDecoder(wkt.FileDescriptorProtoSchema)).toBe(false); // proto2 closed enums
    expect(hasFastDecoder(wkt.ValueSchema)).toBe(false); // contains Struct
    const fast = types.filter((t) => t.file.name.startsWith("google/protobuf/") === false && hasFastDecoder(t));
    expect(fast.length).toBeGreaterThan(100);
  });

  it("makes the message fromBinary makes, for random messages of every type", () => {
    const r = rng(1);
    for (const desc of types) {
      for (let i = 0; i < 20; i++) both(desc, toBinary(desc, message(r, desc) as never));
    }
  });

  it("keeps unknown fields as fromBinary does (another type's bytes), and merges repeated occurrences", () => {
    const r = rng(2);
    for (const desc of types) {
      const other = pick(r, types);
      const a = toBinary(desc, message(r, desc) as never);
      const b = toBinary(desc, message(r, desc) as never);
      both(desc, toBinary(other, message(r, other) as never));
      both(desc, new Uint8Array([...a, ...b]));
      // Unknown fields survive a round trip (when the foreign bytes decode at all).
      const foreign = toBinary(other, message(r, other) as never);
      let decoded: unknown;
      try {
        decoded = fromBinary(desc, foreign);
      } catch {
        continue;
      }
      expect(decodeBinary(desc, foreign)).toStrictEqual(decoded);
      let again: Uint8Array;
      try {
        again = toBinary(desc, decoded as never);
      } catch {
        continue; // a proto2 type whose required fields the foreign bytes did not set
      }
      both(desc, again);
    }
  });

  it("refuses what fromBinary refuses: truncated and random bytes, nesting past the recursion limit", () => {
    const r = rng(3);
    for (const desc of types) {
      const bytes = toBinary(desc, message(r, desc) as never);
      for (const cut of [1, 2, 7]) if (bytes.length > cut) both(desc, bytes.subarray(0, bytes.length - cut));
      for (let i = 0; i < 5; i++)
        both(desc, new Uint8Array(Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256))));
    }
    // google.protobuf.Value nests itself through ListValue: 150 levels of it.
    let deep = create(wkt.ValueSchema, { kind: { case: "numberValue", value: 1 } });
    for (let i = 0; i < 150; i++) {
      const list = create(wkt.ListValueSchema, { values: [deep] });
      deep = create(wkt.ValueSchema, { kind: { case: "listValue", value: list } });
    }
    expect(() => fromBinary(wkt.ValueSchema, toBinary(wkt.ValueSchema, deep))).toThrow(/recursion/);
    both(wkt.ValueSchema, toBinary(wkt.ValueSchema, deep));
  });
});

describe("decodeBinary's own readers", () => {
  it("read strings as fromBinary does: empty, ASCII around the short-string limit, UTF-8, invalid UTF-8, cut short", () => {
    const ascii = (n: number) => Array.from({ length: n }, (_, i) => 0x20 + (i % 95));
    const cases: number[][] = [
      [],
      [0x00, 0x7f],
      ascii(31),
      ascii(32),
      ascii(33),
      ascii(200),
      [...ascii(31), 0xc3, 0xa9], // é after 31 ASCII bytes: the 32nd byte is not ASCII
      [...ascii(40), 0xf0, 0x9f, 0x99, 0x82],
      [0xff], // never valid UTF-8: refused (proto3 strings are validated)
      [0x61, 0x80], // a lone continuation byte
      [0xc3], // a sequence cut short
      [0x61, 0xed, 0xa0, 0x80], // an encoded surrogate
    ];
    for (const bytes of cases) {
      both(wkt.StringValueSchema, lengthDelimited(1, bytes));
      both(orca.EnvelopeSchema, new Uint8Array([...lengthDelimited(5, bytes), ...lengthDelimited(1, bytes)]));
    }
    // A length past the end, and a length that is itself cut short.
    both(wkt.StringValueSchema, new Uint8Array([0x0a, 5, 0x61, 0x62]));
    both(wkt.StringValueSchema, new Uint8Array([0x0a, 0x80]));
  });

  it("read 64-bit varints as fromBinary does: up to 7 bytes here, longer ones, non-canonical and cut-short ones", () => {
    const varint = (v: bigint) => {
      const out: number[] = [];
      let x = BigInt.asUintN(64, v);
      do {
        const b = Number(x & 0x7fn);
        x >>= 7n;
        out.push(x > 0n ? b | 0x80 : b);
      } while (x > 0n);
      return out;
    };
    const values = [
      0n,
      1n,
      127n,
      128n,
      (1n << 49n) - 1n,
      1n << 49n,
      (1n << 53n) + 1n,
      (1n << 63n) - 1n,
      -1n,
      -(1n << 40n),
    ];
    const encodings = [
      ...values.map(varint),
      [0x80, 0x80, 0x00], // 0 in three bytes
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // 2^49 - 1, the longest read here
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^49 in eight bytes
      [0xff, 0xff, 0xff], // cut short
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // eleven bytes
    ];
    for (const bytes of encodings) {
      for (const desc of [wkt.Int64ValueSchema, wkt.UInt64ValueSchema]) {
        both(desc, new Uint8Array([0x08, ...bytes]));
      }
      // Envelope: ts_ms (uint64, 9) next to a string.
      both(orca.EnvelopeSchema, new Uint8Array([0x48, ...bytes, ...lengthDelimited(1, [0x61])]));
    }
    expect(hasFastDecoder(wkt.Int64ValueSchema)).toBe(true);
  });

  it("read tags as fromBinary does: field 0, wire types 6 and 7, a tag over 32 bits", () => {
    for (const tag of [[0x00], [0x0e], [0x0f], [0x80, 0x80, 0x80, 0x80, 0x10], [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]])
      both(orca.EnvelopeSchema, new Uint8Array([...tag, 0x00]));
  });
});

describe("decodeBinary's zero messages", () => {
  it("are create()'s, and share nothing mutable with each other", () => {
    for (const desc of types) {
      if (!hasFastDecoder(desc)) continue;
      const a = decodeBinary(desc, new Uint8Array(0)) as Record<string, unknown>;
      const b = decodeBinary(desc, new Uint8Array(0)) as Record<string, unknown>;
      expect(a).toStrictEqual(create(desc));
      for (const key of Object.keys(a))
        if (typeof a[key] === "object" && a[key] !== null) expect(a[key]).not.toBe(b[key]);
    }
  });
});
