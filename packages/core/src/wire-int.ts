import { InvalidArgumentError } from "./errors.js";

/**
 * A JavaScript number as an `int32` field. `undefined` is 0 (the field's default).
 *
 * @throws {InvalidArgumentError} naming the field for a fraction, NaN or a value out of range.
 */
export function int32(field: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < -2147483648 || value > 2147483647)
    throw new InvalidArgumentError(`${field} must be an int32, got ${value}`);
  return value;
}

/**
 * A number or bigint as an `int64` field. `undefined` is 0n (the field's default).
 *
 * @throws {InvalidArgumentError} naming the field for a number that is not a safe integer
 * (a fraction, NaN, Infinity, or beyond 2^53: pass a bigint for those).
 */
export function int64(field: string, value: number | bigint | undefined): bigint {
  if (value === undefined) return 0n;
  if (typeof value === "bigint") {
    if (value < -(2n ** 63n) || value >= 2n ** 63n)
      throw new InvalidArgumentError(`${field} must be an int64, got ${value}`);
    return value;
  }
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${field} must be a safe integer, got ${value}`);
  return BigInt(value);
}

/**
 * A `Date` as Unix milliseconds in an `int64` field. `undefined` is 0n.
 *
 * @throws {InvalidArgumentError} naming the field for an invalid date.
 */
export function dateMs(field: string, value: Date | undefined): bigint {
  if (value === undefined) return 0n;
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`${field} must be a valid Date, got ${String(value)}`);
  return BigInt(ms);
}
