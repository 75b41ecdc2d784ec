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

/**
 * Reads the module's settings, each `baaaht.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is not a positive number.
 */
export function baaahtSettings(settings: ReadonlyMap<string, string>): BaaahtSettings {
  const num = (key: keyof BaaahtSettings): number => {
    const raw = settings.get(`baaaht.${key}`);
    if (raw === undefined) return DEFAULT_BAAAHT_SETTINGS[key];
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`baaaht.${key} must be a positive number, got ${raw}`);
    return n;
  };
  return {
    agentHeartbeatTimeoutMs: num("agentHeartbeatTimeoutMs"),
    streamHeartbeatMs: num("streamHeartbeatMs"),
    eventLogSize: num("eventLogSize"),
    historySize: num("historySize"),
    maxTasks: num("maxTasks"),
    maxSessions: num("maxSessions"),
    maxResponses: num("maxResponses"),
  };
}
