import { readKeyFile } from "../jwt-verifier.js";
import {
  choiceSetting,
  declareSettings,
  listSetting,
  numberSetting,
  readSettings,
  type SettingDeclaration,
  type SettingTable,
  textSetting,
} from "../settings.js";

/** The models a runner may use by default: the three Stratavore's reference names. */
export const DEFAULT_MODELS = ["claude-3-sonnet", "claude-3-opus", "claude-3-haiku"] as const;

/** The Stratavore module's settings (`--set stratavore.<key>=<value>`). */
export interface StratavoreSettings {
  /** `stratavore.models`: comma-separated model names runners may use. */
  models: string[];
  /** `stratavore.runtime`: `record` (default: records the lifecycle, runs nothing) or `process`. */
  runtime: "record" | "process";
  /** `stratavore.command`: the shell command the process runtime runs per runner (`/bin/sh -c`). */
  command: string | undefined;
  /** `stratavore.maxTemperature`: the largest temperature accepted (default 1). */
  maxTemperature: number;
  /** `stratavore.maxTokensLimit`: the largest `max_tokens` accepted (default 200000). */
  maxTokensLimit: number;
  /** `stratavore.eventRetention`: how many runner events are kept for replay (default 10000). */
  eventRetention: number;
  /** `stratavore.stopTimeoutMs`: how long a stopping process gets before SIGKILL (default 5000). */
  stopTimeoutMs: number;
  /**
   * `stratavore.maxRunners`: runners kept (default 10000); past it the oldest ended ones are
   * forgotten, and with none ended CreateRunner is RESOURCE_EXHAUSTED.
   */
  maxRunners: number;
  /**
   * `stratavore.maxSessions`: sessions kept (default 10000); past it the oldest closed ones
   * with no active runner are forgotten, and with none such a new session is RESOURCE_EXHAUSTED.
   */
  maxSessions: number;
  /** `stratavore.maxTranscriptMessages`: messages kept per session transcript, newest (default 10000). */
  maxTranscriptMessages: number;
  /** JWT checks, when any key source is set. */
  jwt:
    | {
        /** `stratavore.jwtSecret`: tokens must be signed (HS*) with this secret. */
        secret?: string;
        /** The PEM key or certificate read from `stratavore.jwtPublicKeyFile`: tokens must be signed by it. */
        publicKey?: string;
        /** The JWKS document read from `stratavore.jwksFile`: tokens must be signed by one of its keys. */
        jwks?: string;
        /** `stratavore.jwtAudience`: the `aud` claim tokens must carry. */
        audience?: string;
        /** `stratavore.jwtIssuer`: the `iss` claim tokens must carry. */
        issuer?: string;
      }
    | undefined;
}

/** How each `stratavore.<key>` is read, with its default and doc. Blank values are unset. */
const table = {
  models: listSetting(DEFAULT_MODELS, "model names runners may use"),
  runtime: choiceSetting(
    ["record", "process"],
    "record",
    "runners: record the lifecycle and run nothing, or run stratavore.command per runner",
  ),
  command: textSetting(undefined, "the shell command the process runtime runs per runner (/bin/sh -c)", {
    allowed: "a shell command",
  }),
  maxTemperature: numberSetting({ doc: "the largest temperature accepted", default: 1 }),
  maxTokensLimit: numberSetting({ doc: "the largest max_tokens accepted", default: 200_000, integer: true }),
  eventRetention: numberSetting({ doc: "how many runner events are kept for replay", default: 10_000, integer: true }),
  stopTimeoutMs: numberSetting({
    doc: "how long a stopping runner process gets before SIGKILL, in ms",
    default: 5000,
    integer: true,
  }),
  maxRunners: numberSetting({
    doc: "runners kept; past it the oldest ended are forgotten (all active: RESOURCE_EXHAUSTED)",
    default: 10_000,
    integer: true,
  }),
  maxSessions: numberSetting({
    doc: "sessions kept; past it the oldest closed are forgotten",
    default: 10_000,
    integer: true,
  }),
  maxTranscriptMessages: numberSetting({
    doc: "messages kept per session transcript (the newest)",
    default: 10_000,
    integer: true,
  }),
  jwtSecret: textSetting(undefined, "require JWTs signed with this HS* secret"),
  jwtPublicKeyFile: textSetting(undefined, "require JWTs signed by the key in this PEM file (key or certificate)", {
    allowed: "a file path",
  }),
  jwksFile: textSetting(undefined, "require JWTs signed by a key of this JWKS file", { allowed: "a file path" }),
  jwtAudience: textSetting(undefined, "the aud claim JWTs must carry"),
  jwtIssuer: textSetting(undefined, "the iss claim JWTs must carry"),
} satisfies SettingTable;

/** Every `stratavore.<key>` setting the module reads. */
export const STRATAVORE_SETTING_DECLARATIONS: readonly SettingDeclaration[] = declareSettings("stratavore", table, {
  blankIsUnset: true,
});

/**
 * Reads the module's settings. JWT: `stratavore.jwtSecret` (HS*), `stratavore.jwtPublicKeyFile`
 * (PEM key or certificate), or `stratavore.jwksFile`; `stratavore.jwtAudience`,
 * `stratavore.jwtIssuer` optional.
 *
 * @throws {Error} on a value that does not parse, so the server refuses to start.
 */
export function stratavoreSettings(settings: ReadonlyMap<string, string>): StratavoreSettings {
  const s = readSettings("stratavore", table, settings, { blankIsUnset: true });
  if (s.runtime === "process" && s.command === undefined)
    throw new Error("stratavore.runtime=process needs stratavore.command (the command each runner runs)");
  const sources = [s.jwtSecret, s.jwtPublicKeyFile, s.jwksFile].filter((v) => v !== undefined).length;
  if (sources > 1)
    throw new Error("set only one of stratavore.jwtSecret, stratavore.jwtPublicKeyFile, stratavore.jwksFile");
  const jwt =
    sources === 0
      ? undefined
      : {
          ...(s.jwtSecret ? { secret: s.jwtSecret } : {}),
          ...(s.jwtPublicKeyFile ? { publicKey: readKeyFile(s.jwtPublicKeyFile) } : {}),
          ...(s.jwksFile ? { jwks: readKeyFile(s.jwksFile) } : {}),
          ...(s.jwtAudience ? { audience: s.jwtAudience } : {}),
          ...(s.jwtIssuer ? { issuer: s.jwtIssuer } : {}),
        };
  return {
    models: [...s.models],
    runtime: s.runtime,
    command: s.command,
    maxTemperature: s.maxTemperature,
    maxTokensLimit: s.maxTokensLimit,
    eventRetention: s.eventRetention,
    stopTimeoutMs: s.stopTimeoutMs,
    maxRunners: s.maxRunners,
    maxSessions: s.maxSessions,
    maxTranscriptMessages: s.maxTranscriptMessages,
    jwt,
  };
}
