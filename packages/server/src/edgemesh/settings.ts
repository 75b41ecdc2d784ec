import { randomUUID } from "node:crypto";
import { hostname } from "node:os";

/** The edgemesh module's settings (`--set edgemesh.<name>=VALUE`). */
export interface EdgemeshSettings {
  /** The key `CreateSession` accepts (default `dev-key`, the seed's example key). */
  securityKey: string;
  /** How long a session lives without a `Heartbeat`, ms. */
  sessionTtlMs: number;
  /** Commands `ExecuteCommand` runs; anything else is PERMISSION_DENIED. */
  allowedCommands: readonly string[];
  /** A command still running after this long is killed, ms. */
  commandTimeoutMs: number;
  /** Most bytes kept of a command's stdout and of its stderr (the rest is dropped). */
  commandOutputBytes: number;
  /** The directory `ReadFile`, `CreateDownloadTicket` and commands are confined to. */
  fileRoot: string;
  /** How long a download ticket stays redeemable, ms. */
  ticketTtlMs: number;
  /** This device's stable id. */
  deviceId: string;
  /** This device's name. */
  deviceName: string;
  /** Whether to report a GPU (Node cannot detect one). */
  hasGpu: boolean;
  /** Whether to report an NPU (Node cannot detect one). */
  hasNpu: boolean;
  /** Ollama-style endpoint of this device's local model ("" = none). */
  localChatEndpoint: string;
  /** Model name to ask that endpoint for. */
  localModelName: string;
  /** Own LLM prefill throughput, tokens/s (0: the cost model's default). */
  llmPrefillToksPerS: number;
  /** Own LLM decode throughput, tokens/s (0: the cost model's default). */
  llmDecodeToksPerS: number;
  /** Another device to join: this server registers itself there and learns its devices. */
  join: string;
  /** How often a joined server re-registers, ms. */
  registerIntervalMs: number;
  /** A device not seen for this long is stale: not listed, not routed to, ms. */
  staleAfterMs: number;
  /** How often this device samples its own load, ms. */
  metricsIntervalMs: number;
  /** Most load samples kept. */
  metricsHistory: number;
  /** Jobs kept (default 10000); past it the oldest finished ones are forgotten, and with none finished SubmitJob is RESOURCE_EXHAUSTED. */
  maxJobs: number;
  /** Unexpired sessions kept (default 10000); past it CreateSession is RESOURCE_EXHAUSTED. */
  maxSessions: number;
  /** Devices kept (default 1000); past it the oldest stale ones are forgotten, and with none stale a new device's registration is RESOURCE_EXHAUSTED. */
  maxDevices: number;
}

/** The default allowlist of `ExecuteCommand`. */
export const DEFAULT_ALLOWED_COMMANDS = ["ls", "pwd", "echo", "uname", "date", "whoami", "hostname"] as const;

/**
 * Reads `edgemesh.<name>` settings, filling in the defaults.
 *
 * @throws {Error} naming the setting when a value is malformed (numbers must be positive, flags `true`/`false`).
 */
export function edgemeshSettings(settings: ReadonlyMap<string, string>): EdgemeshSettings {
  const get = (k: string) => settings.get(`edgemesh.${k}`);
  const num = (k: string, def: number, min = 1): number => {
    const raw = get(k);
    if (raw === undefined) return def;
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`edgemesh.${k} must be a number >= ${min}, got ${raw}`);
    return n;
  };
  const flag = (k: string): boolean => {
    const raw = get(k);
    if (raw === undefined || raw === "false") return false;
    if (raw === "true") return true;
    throw new Error(`edgemesh.${k} must be true or false, got ${raw}`);
  };
  const allowed = get("allowedCommands");
  return {
    securityKey: get("securityKey") ?? "dev-key",
    sessionTtlMs: num("sessionTtlMs", 30 * 60 * 1000),
    allowedCommands:
      allowed === undefined
        ? DEFAULT_ALLOWED_COMMANDS
        : allowed
            .split(",")
            .map((c) => c.trim())
            .filter(Boolean),
    commandTimeoutMs: num("commandTimeoutMs", 10_000),
    commandOutputBytes: num("commandOutputBytes", 1024 * 1024),
    fileRoot: get("fileRoot") ?? process.cwd(),
    ticketTtlMs: num("ticketTtlMs", 60_000),
    deviceId: get("deviceId") ?? randomUUID(),
    deviceName: get("deviceName") ?? hostname(),
    hasGpu: flag("hasGpu"),
    hasNpu: flag("hasNpu"),
    localChatEndpoint: get("localChatEndpoint") ?? "",
    localModelName: get("localModelName") ?? "llama3.2:3b",
    llmPrefillToksPerS: num("llmPrefillToksPerS", 0, 0),
    llmDecodeToksPerS: num("llmDecodeToksPerS", 0, 0),
    join: get("join") ?? "",
    registerIntervalMs: num("registerIntervalMs", 5_000),
    staleAfterMs: num("staleAfterMs", 30_000),
    metricsIntervalMs: num("metricsIntervalMs", 5_000),
    metricsHistory: num("metricsHistory", 120),
    maxJobs: num("maxJobs", 10_000),
    maxSessions: num("maxSessions", 10_000),
    maxDevices: num("maxDevices", 1000),
  };
}
