/**
 * Bounded entity maps: the server keeps at most a documented number of runs, tasks,
 * sessions and jobs, and forgets the oldest finished ones first.
 */

/**
 * Makes room for one more entry in `map` (insertion-ordered: oldest first) so that it holds
 * at most `max` after the caller inserts: deletes the oldest entries `evictable` allows,
 * calling `onEvict` for each after deleting it. Returns false, deleting nothing, when
 * too few entries may go; the caller then refuses the new entry.
 */
export function makeRoom<K, V>(
  map: Map<K, V>,
  max: number,
  evictable: (value: V, key: K) => boolean,
  onEvict?: (key: K, value: V) => void,
): boolean {
  const excess = map.size + 1 - max;
  if (excess <= 0) return true;
  const victims: Array<[K, V]> = [];
  for (const [k, v] of map) {
    if (victims.length >= excess) break;
    if (evictable(v, k)) victims.push([k, v]);
  }
  if (victims.length < excess) return false;
  for (const [k, v] of victims) {
    map.delete(k);
    onEvict?.(k, v);
  }
  return true;
}

/** Keeps only the newest `max` items of an array, in place. */
export function trimTo<T>(items: T[], max: number): void {
  if (items.length > max) items.splice(0, items.length - max);
}
