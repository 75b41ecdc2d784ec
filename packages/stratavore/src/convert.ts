import { ProtocolError } from "@baton/core";

export { int32, int64 } from "@baton/core";

/** The `offset` a page cursor holds. */
export function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const n = Number(cursor);
  if (!Number.isSafeInteger(n) || n < 0) throw new ProtocolError(`not a page cursor: ${cursor}`);
  return n;
}
