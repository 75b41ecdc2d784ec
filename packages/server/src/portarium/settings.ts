import {
  booleanSetting,
  choiceSetting,
  declareSettings,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
  textSetting,
} from "../settings.js";

/** Which endpoints connection tests may dial: loopback only (the default) or any host. */
export type ConnectionTestScope = "loopback" | "any";

/** The Portarium module's tunable settings (`portarium.<name>`). */
export interface PortariumSettings {
  /** Lifetime of issued tokens, in seconds. */
  tokenTtlSeconds: number;
  /** How long a machine invocation runs from acceptance to completion, in ms (0: at once). */
  invocationDurationMs: number;
  /** How long an `Idempotency-Key` is remembered, in ms. */
  idempotencyTtlMs: number;
  /** How many `Idempotency-Key`s are remembered at most (the oldest are forgotten first). */
  idempotencyMaxEntries: number;
  /** How often an open event stream gets a `: keep-alive` comment, in ms, so proxies keep it open. */
  sseKeepAliveMs: number;
  /**
   * A machine silent for longer than this (no registration, no invocation progress) is
   * `Degraded`; silent for twice as long, `Offline`. In ms.
   */
  machineHeartbeatTimeoutMs: number;
  /** Which agent endpoints `testAgentConnection` dials: `loopback` hosts only, or `any`. */
  connectionTestScope: ConnectionTestScope;
}

/** Defaults of {@link PortariumSettings}. */
export const DEFAULT_PORTARIUM_SETTINGS: Readonly<PortariumSettings> = {
  tokenTtlSeconds: 3600,
  invocationDurationMs: 1000,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  idempotencyMaxEntries: 10_000,
  sseKeepAliveMs: 15_000,
  machineHeartbeatTimeoutMs: 5 * 60 * 1000,
  connectionTestScope: "loopback",
};

const D = DEFAULT_PORTARIUM_SETTINGS;
/** How each of {@link PortariumSettings} is read (`portarium.<name>`), with its default and doc. */
const table = {
  tokenTtlSeconds: numberSetting({ doc: "lifetime of issued tokens, in seconds", default: D.tokenTtlSeconds }),
  invocationDurationMs: numberSetting({
    doc: "how long a machine invocation runs from acceptance to completion, in ms (0: at once)",
    default: D.invocationDurationMs,
    min: 0,
    allowed: "a number of ms, 0 or more",
  }),
  idempotencyTtlMs: numberSetting({
    doc: "how long an Idempotency-Key is remembered, in ms",
    default: D.idempotencyTtlMs,
    allowed: "a positive number of ms",
  }),
  idempotencyMaxEntries: numberSetting({
    doc: "how many Idempotency-Keys are remembered at most (the oldest are forgotten first)",
    default: D.idempotencyMaxEntries,
    integer: true,
  }),
  sseKeepAliveMs: numberSetting({
    doc: "how often an open event stream gets a keep-alive comment, in ms",
    default: D.sseKeepAliveMs,
    allowed: "a positive number of ms",
  }),
  machineHeartbeatTimeoutMs: numberSetting({
    doc: "a machine silent this long (ms) is Degraded; twice as long, Offline",
    default: D.machineHeartbeatTimeoutMs,
    allowed: "a positive number of ms",
  }),
  connectionTestScope: choiceSetting(
    ["loopback", "any"],
    D.connectionTestScope,
    "which agent endpoints testAgentConnection dials: loopback hosts only, or any",
  ),
} satisfies SettingTable;

/**
 * The settings the Portarium module reads besides {@link PortariumSettings}:
 * `serviceAccounts` (what `--service-account` sets), `jwtSecret` (`--jwt-secret`) and
 * `validateResponses`.
 */
export const PORTARIUM_MODULE_SETTINGS = {
  // Checked by parseServiceAccounts when the module starts, with a message naming the line.
  serviceAccounts: textSetting(undefined, "client credentials allowed to get tokens, one ID:SECRET:WS[,WS] per line", {
    allowed: "lines of ID:SECRET:WORKSPACE[,WORKSPACE]",
  }),
  jwtSecret: textSetting(undefined, "HS256 signing secret of issued tokens", { defaultText: "random per process" }),
  validateResponses: booleanSetting(false, "check every response against the OpenAPI document (a bad one is a 500)"),
} satisfies SettingTable;

/** Every `portarium.<name>` setting the module reads. */
export const PORTARIUM_SETTING_DECLARATIONS: readonly SettingDeclaration[] = [
  ...declareSettings("portarium", table),
  ...declareSettings("portarium", PORTARIUM_MODULE_SETTINGS),
];

/**
 * Reads the module's settings, each `portarium.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is out of range: `invocationDurationMs`
 *   must be 0 or more, `idempotencyMaxEntries` a positive integer, the other numbers
 *   positive, `connectionTestScope` `loopback` or `any`.
 */
export function portariumSettings(settings: ReadonlyMap<string, string>): PortariumSettings {
  return readSettings("portarium", table, settings);
}
