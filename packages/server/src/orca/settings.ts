/** The longest `Envelope.timeout_ms` the orchestrator accepts: 24 hours. Longer ones are INVALID_ARGUMENT. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;

/** Retention bounds of the ORCA module (settings `orca.<name>`). */
export interface OrcaSettings {
  /** Events kept per run; the oldest are dropped beyond it (ids keep counting). Default 10000. */
  maxEventsPerRun: number;
  /** Bytes of event `payload_json` kept per run; the oldest events are dropped beyond it. Default 32 MiB. */
  maxEventBytesPerRun: number;
  /** Distinct envelopes (tasks and results) a run accepts; more are RESOURCE_EXHAUSTED. Default 10000. */
  maxTasksPerRun: number;
  /**
   * Runs kept. Past it, StartRun of a new run evicts the oldest settled run (every task has
   * a result); with none settled it is RESOURCE_EXHAUSTED. Default 1000.
   */
  maxRuns: number;
}

/** Defaults of {@link OrcaSettings}. */
export const DEFAULT_ORCA_SETTINGS: Readonly<OrcaSettings> = {
  maxEventsPerRun: 10_000,
  maxEventBytesPerRun: 32 * 1024 * 1024,
  maxTasksPerRun: 10_000,
  maxRuns: 1000,
};

/**
 * Reads the module's settings, each `orca.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is not a positive integer.
 */
export function orcaSettings(settings: ReadonlyMap<string, string>): OrcaSettings {
  const int = (key: keyof OrcaSettings): number => {
    const raw = settings.get(`orca.${key}`);
    if (raw === undefined) return DEFAULT_ORCA_SETTINGS[key];
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`orca.${key} must be a positive integer, got ${raw}`);
    return n;
  };
  return {
    maxEventsPerRun: int("maxEventsPerRun"),
    maxEventBytesPerRun: int("maxEventBytesPerRun"),
    maxTasksPerRun: int("maxTasksPerRun"),
    maxRuns: int("maxRuns"),
  };
}
