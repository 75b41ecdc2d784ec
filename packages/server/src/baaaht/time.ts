/** Nanoseconds (int64) to ms, rounding up so a tiny positive timeout is not 0. */
export function nsToMs(ns: bigint): number {
  if (ns <= 0n) return 0;
  return Number((ns + 999_999n) / 1_000_000n);
}
