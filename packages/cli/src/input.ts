import { readFile } from "node:fs/promises";
import { UsageError } from "./exit-codes.js";

/** Reads a stream to the end as UTF-8 text. */
export async function readAll(stream: AsyncIterable<string | Buffer | Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A JSON value given on the command line: `-` reads stdin, `@path` reads a file, anything
 * else is JSON text itself.
 *
 * @throws {UsageError} naming the flag when the file cannot be read or the text is not JSON.
 */
export async function readJsonArg(
  value: string,
  what: string,
  stdin: AsyncIterable<string | Buffer | Uint8Array>,
): Promise<unknown> {
  let text: string;
  let from: string;
  if (value === "-") {
    text = await readAll(stdin);
    from = "stdin";
  } else if (value.startsWith("@")) {
    const path = value.slice(1);
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      throw new UsageError(`${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    from = path;
  } else {
    text = value;
    from = "the argument";
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what}: ${from} is not JSON (${(err as Error).message})`);
  }
}

/** A JSON object given on the command line (see {@link readJsonArg}). @throws {UsageError} when it is not an object. */
export async function readJsonObject(
  value: string,
  what: string,
  stdin: AsyncIterable<string | Buffer | Uint8Array>,
): Promise<Record<string, unknown>> {
  const v = await readJsonArg(value, what, stdin);
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * A value made printable as JSON: Dates as ISO strings, bigints as numbers (strings when
 * they do not fit a double exactly), bytes as base64, protobuf messages without their
 * `$typeName`. Verbs print protobuf messages through `toJson` with their schema; this is
 * for the idiomatic layer's plain objects.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : String(value);
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== "$typeName" && v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}
