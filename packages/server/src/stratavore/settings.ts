import { readKeyFile } from "../jwt-verifier.js";

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
        secret?: string;
        publicKey?: string;
        jwks?: string;
        audience?: string;
        issuer?: string;
      }
    | undefined;
}

/**
 * Reads the module's settings. JWT: `stratavore.jwtSecret` (HS*), `stratavore.jwtPublicKeyFile`
 * (PEM key or certificate), or `stratavore.jwksFile`; `stratavore.jwtAudience`,
 * `stratavore.jwtIssuer` optional.
 *
 * @throws {Error} on a value that does not parse, so the server refuses to start.
 */
export function stratavoreSettings(settings: ReadonlyMap<string, string>): StratavoreSettings {
  const get = (k: string) => {
    const v = settings.get(`stratavore.${k}`);
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const num = (k: string, dflt: number, integer: boolean) => {
    const v = get(k);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n)))
      throw new Error(`stratavore.${k} must be a positive ${integer ? "integer" : "number"}, got ${v}`);
    return n;
  };
  const runtime = get("runtime") ?? "record";
  if (runtime !== "record" && runtime !== "process")
    throw new Error(`stratavore.runtime must be record or process, got ${runtime}`);
  const command = get("command");
  if (runtime === "process" && command === undefined)
    throw new Error("stratavore.runtime=process needs stratavore.command (the command each runner runs)");
  const models = (get("models") ?? DEFAULT_MODELS.join(","))
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const secret = get("jwtSecret");
  const publicKeyFile = get("jwtPublicKeyFile");
  const jwksFile = get("jwksFile");
  const sources = [secret, publicKeyFile, jwksFile].filter((s) => s !== undefined).length;
  if (sources > 1)
    throw new Error("set only one of stratavore.jwtSecret, stratavore.jwtPublicKeyFile, stratavore.jwksFile");
  const audience = get("jwtAudience");
  const issuer = get("jwtIssuer");
  const jwt =
    sources === 0
      ? undefined
      : {
          ...(secret ? { secret } : {}),
          ...(publicKeyFile ? { publicKey: readKeyFile(publicKeyFile) } : {}),
          ...(jwksFile ? { jwks: readKeyFile(jwksFile) } : {}),
          ...(audience ? { audience } : {}),
          ...(issuer ? { issuer } : {}),
        };
  return {
    models,
    runtime,
    command,
    maxTemperature: num("maxTemperature", 1, false),
    maxTokensLimit: num("maxTokensLimit", 200_000, true),
    eventRetention: num("eventRetention", 10_000, true),
    stopTimeoutMs: num("stopTimeoutMs", 5000, true),
    maxRunners: num("maxRunners", 10_000, true),
    maxSessions: num("maxSessions", 10_000, true),
    maxTranscriptMessages: num("maxTranscriptMessages", 10_000, true),
    jwt,
  };
}
