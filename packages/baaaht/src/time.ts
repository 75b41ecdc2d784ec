import { InvalidArgumentError } from "@baton/core";
import { isMessage } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";

/** A time as a Date, Unix ms or protobuf Timestamp. */
export type TimeInput = Date | number | Timestamp;

/**
 * Converts a {@link TimeInput} to a protobuf Timestamp.
 *
 * @throws {InvalidArgumentError} for an invalid Date, a non-finite number or anything else.
 */
export function toTimestamp(t: TimeInput, what = "time"): Timestamp {
  if (t instanceof Date && Number.isFinite(t.getTime())) return timestampFromMs(t.getTime());
  if (typeof t === "number" && Number.isFinite(t)) return timestampFromMs(t);
  if (isMessage(t, TimestampSchema)) return t;
  throw new InvalidArgumentError(`${what} must be a valid Date, Unix ms or Timestamp, not ${String(t)}`);
}
