import { cpus, freemem, loadavg, totalmem } from "node:os";

/** One load sample of this device. */
export interface LoadSample {
  /** When, Unix ms. */
  timestampMs: number;
  /** 1-minute load average over the CPU count, clamped to 0..1 (-1 where the OS has none). */
  cpuLoad: number;
  /** Memory in use, MB. */
  memUsedMb: number;
  /** Memory in all, MB. */
  memTotalMb: number;
}

/** Reads this device's load now, from `node:os`. */
export function sampleLoad(nowMs: number): LoadSample {
  const n = cpus().length;
  const avg = loadavg()[0] ?? 0;
  // Windows has no load average: os.loadavg() answers zeros there.
  const cpuLoad = process.platform === "win32" || n === 0 ? -1 : Math.min(1, Math.max(0, avg / n));
  const total = totalmem();
  return {
    timestampMs: nowMs,
    cpuLoad,
    memUsedMb: Math.round((total - freemem()) / (1024 * 1024)),
    memTotalMb: Math.round(total / (1024 * 1024)),
  };
}

/** The most recent load samples, oldest first, at most `capacity`. */
export class LoadHistory {
  readonly #samples: LoadSample[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds a sample, forgetting the oldest beyond the capacity. */
  add(s: LoadSample): void {
    this.#samples.push(s);
    if (this.#samples.length > this.#capacity) this.#samples.splice(0, this.#samples.length - this.#capacity);
  }

  /** The newest sample. */
  latest(): LoadSample | undefined {
    return this.#samples.at(-1);
  }

  /** Samples at or after `sinceMs`, oldest first. */
  since(sinceMs: number): LoadSample[] {
    return this.#samples.filter((s) => s.timestampMs >= sinceMs);
  }
}
