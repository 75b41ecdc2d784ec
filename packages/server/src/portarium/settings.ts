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

type NumericSetting = Exclude<keyof PortariumSettings, "connectionTestAllow">;

/**
 * Reads the module's settings, each `portarium.<name>` or its default.
 *
 * @throws {Error} naming the setting when a value is out of range: `invocationDurationMs`
 *   must be 0 or more, `idempotencyMaxEntries` a positive integer, the other numbers
 *   positive, `connectionTestAllow` a list `ConnectionTestPolicy.parse` takes. The retired
 *   `portarium.connectionTestScope` is refused with what to set instead.
 */
export function portariumSettings(settings: ReadonlyMap<string, string>): PortariumSettings {
  const read = (key: NumericSetting, ok: (n: number) => boolean, want: string): number => {
    const raw = settings.get(`portarium.${key}`);
    if (raw === undefined) return DEFAULT_PORTARIUM_SETTINGS[key];
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`portarium.${key} must be ${want}, got ${raw}`);
    return n;
  };
  if (settings.has("portarium.connectionTestScope")) {
    throw new Error(
      "portarium.connectionTestScope was replaced by portarium.connectionTestAllow: e.g. 127.0.0.0/8,::1 for loopback endpoints, public for public ones",
    );
  }
  const allow = settings.get("portarium.connectionTestAllow") ?? DEFAULT_PORTARIUM_SETTINGS.connectionTestAllow;
  try {
    ConnectionTestPolicy.parse(allow);
  } catch (err) {
    throw new Error(`portarium.connectionTestAllow: ${(err as Error).message}`);
  }
  return {
    tokenTtlSeconds: read("tokenTtlSeconds", (n) => n > 0, "a positive number"),
    invocationDurationMs: read("invocationDurationMs", (n) => n >= 0, "a number of ms, 0 or more"),
    idempotencyTtlMs: read("idempotencyTtlMs", (n) => n > 0, "a positive number of ms"),
    idempotencyMaxEntries: read("idempotencyMaxEntries", positiveInt, "a positive integer"),
    sseKeepAliveMs: read("sseKeepAliveMs", (n) => n > 0, "a positive number of ms"),
    machineHeartbeatTimeoutMs: read("machineHeartbeatTimeoutMs", (n) => n > 0, "a positive number of ms"),
    connectionTestAllow: allow,
    maxRunsPerWorkspace: read("maxRunsPerWorkspace", positiveInt, "a positive integer"),
    maxApprovalsPerWorkspace: read("maxApprovalsPerWorkspace", positiveInt, "a positive integer"),
    maxEvidencePerWorkspace: read("maxEvidencePerWorkspace", positiveInt, "a positive integer"),
    maxInvocationsPerWorkspace: read("maxInvocationsPerWorkspace", positiveInt, "a positive integer"),
  };
}

const positiveInt = (n: number) => Number.isSafeInteger(n) && n > 0;
