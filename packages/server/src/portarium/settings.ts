import {
  booleanSetting,
  declareSettings,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
  textSetting,
} from "../settings.js";
import { ConnectionTestPolicy } from "./connection-probe.js";

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
  /**
   * Which agent endpoints `testAgentConnection` may dial (see `ConnectionTestPolicy`):
   * `public`, addresses, CIDR ranges and host names, each with an optional `:port`.
   */
  connectionTestAllow: string;
  /** Runs kept per workspace; past it the oldest finished are forgotten (none finished: 507). */
  maxRunsPerWorkspace: number;
  /** Approvals kept per workspace; past it the oldest decided are forgotten (none decided: 507). */
  maxApprovalsPerWorkspace: number;
  /** Evidence entries kept per workspace; past it the oldest are dropped. */
  maxEvidencePerWorkspace: number;
  /** Machine invocations kept per workspace; past it the oldest finished are forgotten (none finished: 507). */
  maxInvocationsPerWorkspace: number;
}

/** Defaults of {@link PortariumSettings}. */
export const DEFAULT_PORTARIUM_SETTINGS: Readonly<PortariumSettings> = {
  tokenTtlSeconds: 3600,
  invocationDurationMs: 1000,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  idempotencyMaxEntries: 10_000,
  sseKeepAliveMs: 15_000,
  machineHeartbeatTimeoutMs: 5 * 60 * 1000,
  connectionTestAllow: "public",
  maxRunsPerWorkspace: 10_000,
  maxApprovalsPerWorkspace: 10_000,
  maxEvidencePerWorkspace: 100_000,
  maxInvocationsPerWorkspace: 10_000,
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
  connectionTestAllow: textSetting(
    D.connectionTestAllow,
    "which agent endpoints testAgentConnection may dial: public, addresses, CIDR ranges, host names, each with an optional :port",
    {
      allowed: "a comma-separated allowlist (public, IP, CIDR, host name, each with an optional :port)",
      check: validAllowlist,
    },
  ),
  maxRunsPerWorkspace: numberSetting({
    doc: "runs kept per workspace; past it the oldest finished are forgotten (none finished: 507)",
    default: D.maxRunsPerWorkspace,
    integer: true,
  }),
  maxApprovalsPerWorkspace: numberSetting({
    doc: "approvals kept per workspace; past it the oldest decided are forgotten (none decided: 507)",
    default: D.maxApprovalsPerWorkspace,
    integer: true,
  }),
  maxEvidencePerWorkspace: numberSetting({
    doc: "evidence entries kept per workspace; past it the oldest are dropped",
    default: D.maxEvidencePerWorkspace,
    integer: true,
  }),
  maxInvocationsPerWorkspace: numberSetting({
    doc: "machine invocations kept per workspace; past it the oldest finished are forgotten (none finished: 507)",
    default: D.maxInvocationsPerWorkspace,
    integer: true,
  }),
} satisfies SettingTable;

function validAllowlist(raw: string): boolean {
  try {
    ConnectionTestPolicy.parse(raw);
    return true;
  } catch {
    return false;
  }
}

/**
 * The settings the Portarium module reads besides {@link PortariumSettings}:
 * `serviceAccounts` (what `--service-account` sets), `jwtSecret` (`--jwt-secret`) and
 * `validateResponses`.
 */
export const PORTARIUM_MODULE_SETTINGS = {
  // Checked by parseServiceAccounts when the module starts, with a message naming the line.
  /**
   * `portarium.serviceAccounts`: the client credentials allowed to get tokens, one
   * `ID:SECRET:WORKSPACE[,WORKSPACE] [SCOPE ...]` per line.
   */
  serviceAccounts: textSetting(
    undefined,
    "client credentials allowed to get tokens, one ID:SECRET:WS[,WS] [SCOPE ...] per line",
    { allowed: "lines of ID:SECRET:WORKSPACE[,WORKSPACE] [SCOPE ...]" },
  ),
  /** `portarium.jwtSecret`: the HS256 secret issued tokens are signed with; unset: random per process. */
  jwtSecret: textSetting(undefined, "HS256 signing secret of issued tokens", { defaultText: "random per process" }),
  /** `portarium.validateResponses`: check every response against the OpenAPI document (a bad one is a 500). Default false. */
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
 *   positive, `connectionTestAllow` a list `ConnectionTestPolicy.parse` takes. The retired
 *   `portarium.connectionTestScope` is refused with what to set instead.
 */
export function portariumSettings(settings: ReadonlyMap<string, string>): PortariumSettings {
  if (settings.has("portarium.connectionTestScope")) {
    throw new Error(
      "portarium.connectionTestScope was replaced by portarium.connectionTestAllow: e.g. 127.0.0.0/8,::1 for loopback endpoints, public for public ones",
    );
  }
  return readSettings("portarium", table, settings);
}
