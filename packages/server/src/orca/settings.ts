import {
  declareSettings,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
} from "../settings.js";

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

const int = (doc: string, dflt: number) => numberSetting({ doc, default: dflt, integer: true });

/** How each of {@link OrcaSettings} is read (`orca.<name>`), with its default and doc. */
const table = {
  maxEventsPerRun: int(
    "events kept per run (the oldest dropped; ids keep counting)",
    DEFAULT_ORCA_SETTINGS.maxEventsPerRun,
  ),
  maxEventBytesPerRun: numberSetting({
    doc: "bytes of event payload_json kept per run (the oldest events dropped)",
    default: DEFAULT_ORCA_SETTINGS.maxEventBytesPerRun,
    integer: true,
    defaultText: "33554432 (32 MiB)",
  }),
  maxTasksPerRun: int(
    "distinct envelopes a run accepts (more: RESOURCE_EXHAUSTED)",
    DEFAULT_ORCA_SETTINGS.maxTasksPerRun,
  ),
  maxRuns: int(
    "runs kept; past it the oldest settled run goes (none settled: RESOURCE_EXHAUSTED)",
    DEFAULT_ORCA_SETTINGS.maxRuns,
  ),
} satisfies SettingTable;

/** Every `orca.<name>` setting the module reads. */
export const ORCA_SETTING_DECLARATIONS: readonly SettingDeclaration[] = declareSettings("orca", table);

/**
 * Reads the module's settings, each `orca.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is not a positive integer.
 */
export function orcaSettings(settings: ReadonlyMap<string, string>): OrcaSettings {
  return readSettings("orca", table, settings);
}
