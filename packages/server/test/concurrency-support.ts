// Shared by the concurrency tests (here and at the root): a store whose every operation
// yields to the event loop, outcomes of many calls at once, and bounded polling.
import { MemoryOrcaStore, type OrcaStore } from "@baton/server";

/**
 * The in-memory ORCA store, but every operation first yields to the event loop, as a store
 * over a database or a file would: concurrent calls then really interleave between their
 * reads and writes, so only the service's own serialisation keeps the invariants.
 */
export function yieldingStore(store: OrcaStore = new MemoryOrcaStore()): OrcaStore {
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** One call's outcome: its value, or the error it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Each promise's outcome, in order. */
export function settle<T>(ps: Array<Promise<T>>): Promise<Array<Outcome<T>>> {
  return Promise.all(
    ps.map((p) =>
      p.then(
        (value): Outcome<T> => ({ ok: true, value }),
        (error: unknown): Outcome<T> => ({ ok: false, error }),
      ),
    ),
  );
}

/**
 * Polls `read` until `done` holds for its value, at most `tries` times `everyMs` apart, and
 * returns the last value either way (the caller asserts on it, so a failure shows what was
 * seen). A bound, never a fixed sleep: it returns as soon as the condition holds.
 */
export async function pollUntil<T>(
  read: () => T,
  done: (value: T) => boolean,
  { tries = 1000, everyMs = 5 }: { tries?: number; everyMs?: number } = {},
): Promise<T> {
  let value = read();
  for (let i = 0; i < tries && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = read();
  }
  return value;
}
