import type { ResourceLimits } from "@baton/wire/baaaht";
import { invalid } from "./errors.js";

/**
 * Checks resource limits as given: no field may be negative, except `memory_swap`, where
 * -1 means unlimited.
 *
 * @throws {ConnectError} INVALID_ARGUMENT naming the field, under `where`.
 */
export function checkLimits(l: ResourceLimits | undefined, where: string): void {
  if (!l) return;
  for (const [k, v] of [
    ["nano_cpus", l.nanoCpus],
    ["memory_bytes", l.memoryBytes],
    ["memory_swap", l.memorySwap],
    ["pids_limit", l.pidsLimit],
  ] as const) {
    if (v < 0n && !(k === "memory_swap" && v === -1n)) throw invalid(`${where}.${k} must not be negative`);
  }
}
