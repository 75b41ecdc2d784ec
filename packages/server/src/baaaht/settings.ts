import {
  choiceSetting,
  declareSettings,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
} from "../settings.js";

/** Tunables of the baaaht module (settings `baaaht.<name>`). */
export interface BaaahtSettings {
  /** Missed-heartbeat window after which an agent is unhealthy; twice this, offline. Default 15000 ms. */
  agentHeartbeatTimeoutMs: number;
  /** How often the server sends heartbeat frames on open bidi streams. Default 15000 ms. */
  streamHeartbeatMs: number;
  /** Events kept in the ordered log. Default 10000. */
  eventLogSize: number;
  /** Messages kept per session history. Default 1000. */
  historySize: number;
}

/** Settings defaults. */
export const DEFAULT_BAAAHT_SETTINGS: Readonly<BaaahtSettings> = {
  agentHeartbeatTimeoutMs: 15_000,
  streamHeartbeatMs: 15_000,
  eventLogSize: 10_000,
  historySize: 1000,
};

/** How each of {@link BaaahtSettings} is read (`baaaht.<name>`), with its default and doc. */
const table = {
  agentHeartbeatTimeoutMs: numberSetting({
    doc: "missed-heartbeat window in ms after which an agent is unhealthy; twice this, offline",
    default: DEFAULT_BAAAHT_SETTINGS.agentHeartbeatTimeoutMs,
  }),
  streamHeartbeatMs: numberSetting({
    doc: "how often, in ms, open bidi streams get a heartbeat frame",
    default: DEFAULT_BAAAHT_SETTINGS.streamHeartbeatMs,
  }),
  eventLogSize: numberSetting({ doc: "events kept in the ordered log", default: DEFAULT_BAAAHT_SETTINGS.eventLogSize }),
  historySize: numberSetting({
    doc: "messages kept per session history",
    default: DEFAULT_BAAAHT_SETTINGS.historySize,
  }),
} satisfies SettingTable;

/**
 * Every `baaaht.<name>` setting the module reads: {@link BaaahtSettings}, and
 * `containerRuntime` (what `--container-runtime` sets; read by `createRuntime`).
 */
export const BAAAHT_SETTING_DECLARATIONS: readonly SettingDeclaration[] = [
  ...declareSettings("baaaht", table),
  ...declareSettings("baaaht", {
    containerRuntime: choiceSetting(
      ["record", "process"],
      "record",
      "containers: record the lifecycle and run nothing, or run the command as a local child process",
    ),
  }),
];

/**
 * Reads the module's settings, each `baaaht.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is not a positive number.
 */
export function baaahtSettings(settings: ReadonlyMap<string, string>): BaaahtSettings {
  return readSettings("baaaht", table, settings);
}
