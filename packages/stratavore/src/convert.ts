import { InvalidArgumentError, ProtocolError } from "@baton/core";

/** A JavaScript number as an int32 field, or a rejected call naming the field. */
export function int32(field: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647)
    throw new InvalidArgumentError(`${field} must be an int32, got ${value}`);
  return value;
}

/** A number or bigint as an int64 field. */
export function int64(field: string, value: number | bigint | undefined): bigint {
  if (value === undefined) return 0n;
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${field} must be a safe integer, got ${value}`);
  return BigInt(value);
}

/** The `offset` a page cursor holds. */
export function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const n = Number(cursor);
  if (!Number.isSafeInteger(n) || n < 0) throw new ProtocolError(`not a page cursor: ${cursor}`);
  return n;
}
