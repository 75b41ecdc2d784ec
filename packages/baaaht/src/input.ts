import { InvalidArgumentError, required } from "@baton/core";

/** A protobuf enum value, or its name without the prefix (`"RUNNING"` for `ContainerState.RUNNING`). */
export type EnumInput<E extends Record<string, string | number>> = E[keyof E] | keyof E;

/**
 * The number of an enum given by name or value; `undefined` stays `undefined` (no filter).
 *
 * @throws {InvalidArgumentError} for a name or number the enum does not have: a typo must
 *   not turn into "match everything".
 */
export function enumValue<E extends Record<string, string | number>>(
  e: E,
  value: EnumInput<E> | undefined,
  what: string,
): number | undefined {
  if (value === undefined) return undefined;
  // TypeScript numeric enums map names to numbers and numbers back to names.
  const known = typeof value === "string" ? typeof e[value] === "number" : typeof e[value as keyof E] === "string";
  if (!known) {
    const names = Object.keys(e).filter((k) => Number.isNaN(Number(k)));
    throw new InvalidArgumentError(`unknown ${what} ${String(value)}: use one of ${names.join(", ")}`);
  }
  return typeof value === "string" ? (e[value] as number) : (value as number);
}

/**
 * Milliseconds as int64 nanoseconds, as the wire's `*_ns` fields take them.
 *
 * @throws {InvalidArgumentError} unless `ms` is a finite number >= 0.
 */
export function msToNs(ms: number, what = "duration"): bigint {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError(`${what} must be a finite number of ms >= 0, not ${String(ms)}`);
  }
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/**
 * A period in ms that must be positive (a heartbeat interval).
 *
 * @throws {InvalidArgumentError} unless `ms` is a finite number > 0.
 */
export function positiveMs(ms: number, what: string): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new InvalidArgumentError(`${what} must be a finite number of ms > 0, not ${String(ms)}`);
  }
  return ms;
}

/** An object with its `undefined` fields left out, as optional wire fields want them. */
export type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/**
 * `fields` without the ones that are `undefined`, so that filters and requests can be
 * written as one object literal under `exactOptionalPropertyTypes`.
 */
export function defined<T extends Record<string, unknown>>(fields: T): Defined<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out as Defined<T>;
}

/**
 * The id of what a Create/Register/Execute rpc made: the response's id field, else its
 * entity's id.
 *
 * @throws {ProtocolError} when the response has neither.
 */
export function createdId(id: string, entity: { id: string } | undefined, what: string): string {
  return required(id || entity?.id || undefined, what);
}
