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
  /** Messages kept per session history (also task inputs and a session's task history). Default 1000. */
  historySize: number;
  /** Tasks kept; past it the oldest finished ones are forgotten, and with none finished ExecuteTask is RESOURCE_EXHAUSTED. Default 10000. */
  maxTasks: number;
  /** Sessions kept, orchestrator and gateway each; past it the oldest closed ones are forgotten, and with none closed creating one is RESOURCE_EXHAUSTED. Default 10000. */
  maxSessions: number;
  /** Gateway responses kept; past it the oldest finished ones are forgotten, and with none finished SendMessage is RESOURCE_EXHAUSTED. Default 10000. */
  maxResponses: number;
}

/** Settings defaults. */
export const DEFAULT_BAAAHT_SETTINGS: Readonly<BaaahtSettings> = {
  agentHeartbeatTimeoutMs: 15_000,
  streamHeartbeatMs: 15_000,
  eventLogSize: 10_000,
  historySize: 1000,
  maxTasks: 10_000,
  maxSessions: 10_000,
  maxResponses: 10_000,
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
    doc: "messages kept per session history (also task inputs and a session's task history)",
    default: DEFAULT_BAAAHT_SETTINGS.historySize,
  }),
  maxTasks: numberSetting({
    doc: "tasks kept; past it the oldest finished go (none finished: RESOURCE_EXHAUSTED)",
    default: DEFAULT_BAAAHT_SETTINGS.maxTasks,
    integer: true,
  }),
  maxSessions: numberSetting({
    doc: "orchestrator sessions kept, and gateway sessions kept; past it the oldest closed go",
    default: DEFAULT_BAAAHT_SETTINGS.maxSessions,
    integer: true,
  }),
  maxResponses: numberSetting({
    doc: "gateway responses kept; past it the oldest finished go",
    default: DEFAULT_BAAAHT_SETTINGS.maxResponses,
    integer: true,
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
