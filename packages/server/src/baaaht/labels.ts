/** Whether every label of `want` is present with the same value in `have`. */
export function labelsMatch(have: Record<string, string>, want: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}
