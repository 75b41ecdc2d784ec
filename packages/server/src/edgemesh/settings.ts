import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import {
  booleanSetting,
  declareSettings,
  listSetting,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
  textSetting,
} from "../settings.js";

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

const n = (doc: string, dflt: number, min = 1) => numberSetting({ doc, default: dflt, min });
/** How each of {@link EdgemeshSettings} is read (`edgemesh.<name>`), with its default and doc. */
const table = {
  securityKey: textSetting("dev-key", "the key CreateSession accepts (the seed's example key by default)"),
  sessionTtlMs: n("how long a session lives without a Heartbeat, ms", 30 * 60 * 1000),
  allowedCommands: listSetting(DEFAULT_ALLOWED_COMMANDS, "commands ExecuteCommand runs; others are PERMISSION_DENIED"),
  commandTimeoutMs: n("a command still running after this long (ms) is killed", 10_000),
  commandOutputBytes: n("most bytes kept of a command's stdout and of its stderr", 1024 * 1024),
  fileRoot: textSetting(() => process.cwd(), "the directory ReadFile, download tickets and commands are confined to", {
    defaultText: "the working directory",
    allowed: "a directory",
  }),
  ticketTtlMs: n("how long a download ticket stays redeemable, ms", 60_000),
  deviceId: textSetting(() => randomUUID(), "this device's stable id", { defaultText: "a random UUID" }),
  deviceName: textSetting(() => hostname(), "this device's name", { defaultText: "the host name" }),
  hasGpu: booleanSetting(false, "whether to report a GPU (Node cannot detect one)"),
  hasNpu: booleanSetting(false, "whether to report an NPU (Node cannot detect one)"),
  localChatEndpoint: textSetting("", "Ollama-style endpoint of this device's local model (empty: none)", {
    allowed: "a URL",
  }),
  localModelName: textSetting("llama3.2:3b", "model name to ask that endpoint for"),
  llmPrefillToksPerS: n("own LLM prefill throughput, tokens/s (0: the cost model's default)", 0, 0),
  llmDecodeToksPerS: n("own LLM decode throughput, tokens/s (0: the cost model's default)", 0, 0),
  join: textSetting("", "another device to join: register there and learn its devices", { allowed: "HOST:PORT" }),
  registerIntervalMs: n("how often a joined server re-registers, ms", 5_000),
  staleAfterMs: n("a device not seen for this long (ms) is stale: not listed, not routed to", 30_000),
  metricsIntervalMs: n("how often this device samples its own load, ms", 5_000),
  metricsHistory: n("most load samples kept", 120),
  maxJobs: n("jobs kept; past it the oldest finished are forgotten (none finished: RESOURCE_EXHAUSTED)", 10_000),
  maxSessions: n("unexpired sessions kept (full: RESOURCE_EXHAUSTED)", 10_000),
  maxDevices: n("devices known; past it the oldest stale are forgotten", 1000),
} satisfies SettingTable;

/** Every `edgemesh.<name>` setting the module reads. */
export const EDGEMESH_SETTING_DECLARATIONS: readonly SettingDeclaration[] = declareSettings("edgemesh", table);

/**
 * Reads `edgemesh.<name>` settings, filling in the defaults.
 *
 * @throws {Error} naming the setting when a value is malformed (numbers must be positive, flags `true`/`false`).
 */
export function edgemeshSettings(settings: ReadonlyMap<string, string>): EdgemeshSettings {
  return readSettings("edgemesh", table, settings);
}
