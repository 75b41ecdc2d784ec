import { readFileSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Logger } from "@baton/core";
import type { ConnectionLimits } from "./connection-limits.js";
import { parseCorsOrigins } from "./cors.js";
import { defaultModules } from "./modules.js";
import { parseServiceAccounts } from "./portarium/service-accounts.js";
import { droppedLogMethod } from "./request-log.js";
import { type BatonServer, type ServerOptions, startServer } from "./server.js";
import { checkSettings, type SettingDeclaration, settingsHelp } from "./settings.js";
import { VERSION } from "./version.js";

/** The flags of baton-server. Each that takes a value may come from `BATON_<NAME>` instead. */
const FLAGS = {
  listen: { type: "string", multiple: true },
  token: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  set: { type: "string", multiple: true },
  "container-runtime": { type: "string" },
  "service-account": { type: "string", multiple: true },
  "jwt-secret": { type: "string" },
  "max-message-bytes": { type: "string" },
  "shutdown-timeout-ms": { type: "string" },
  "grpc-socket-path": { type: "string" },
  "max-send-message-bytes": { type: "string" },
  "connection-timeout-ms": { type: "string" },
  "header-timeout-ms": { type: "string" },
  "request-timeout-ms": { type: "string" },
  "max-connections": { type: "string" },
  "max-stream-buffer-bytes": { type: "string" },
  "stream-stall-timeout-ms": { type: "string" },
  "cors-origin": { type: "string", multiple: true },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  config: { type: "string" },
  quiet: { type: "boolean" },
  version: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

/** Flags no environment variable sets: their values hold commas (and `--set` is per module). */
const NOT_FROM_ENV = new Set(["set", "service-account"]);

/** The environment variable of a flag: `--tls-cert` is `BATON_TLS_CERT`. */
export function envName(flag: string): string {
  return `BATON_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Flags an environment variable can set, by variable name. */
const ENV_FLAGS = Object.entries(FLAGS)
  .filter(([name, spec]) => spec.type === "string" && !NOT_FROM_ENV.has(name))
  .map(([name, spec]) => ({ name, env: envName(name), list: "multiple" in spec && spec.multiple }));

/** The settings every default module declares (what `--set` accepts). */
const SETTINGS: readonly SettingDeclaration[] = defaultModules.flatMap((f) => f.settings ?? []);

/** Log levels, least to most verbose. */
const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** How much baton-server logs: a level logs itself and every level before it. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** How log lines are written: `text` (`LEVEL message {fields}`) or `json` (one object a line). */
export type LogFormat = "text" | "json";

/** The package version (`baton-server --version`). */
export { VERSION };

/** The `baton-server --help` text. */
export const USAGE = `Usage: baton-server [options]

The Baton reference server: every orchestrator contract (gRPC, gRPC-Web, Connect, REST)
on every address, HTTP/1.1 and HTTP/2 on the same port.

Options:
  --listen ADDR         127.0.0.1:PORT or unix:///path (repeatable; default 127.0.0.1:50051
                        and unix:///tmp/baaaht-grpc.sock, or unix://$GRPC_SOCKET_PATH)
  --grpc-socket-path P  also listen on the Unix socket P (baaaht's flag; with no --listen it
                        replaces the default socket path)
  --token T             require "authorization: Bearer T" on every gRPC call
  --tls-cert FILE       serve TLS with this certificate (PEM) ...
  --tls-key FILE        ... and this private key (PEM)
  --tls-client-ca FILE  mutual TLS: require client certificates signed by this CA
  --container-runtime R baaaht containers: "record" (default; records the lifecycle, runs
                        nothing) or "process" (runs the command as a local child process)
  --service-account "ID:SECRET:WORKSPACE[,WORKSPACE...][ SCOPE...]"
                        Portarium client credentials allowed to get tokens (repeatable);
                        optional scopes (runs:read machines:write ...) limit its tokens,
                        none: every scope
  --jwt-secret S        Portarium HS256 signing secret (default: random per process)
  --max-message-bytes N largest gRPC/Connect request message accepted (default 4194304);
                        larger ones fail with RESOURCE_EXHAUSTED
  --max-send-message-bytes N
                        largest response message sent (default 4194304); a larger one
                        fails with RESOURCE_EXHAUSTED instead of going out
  --connection-timeout-ms N
                        close connections with no open request for N ms: silent ones,
                        idle keep-alive ones, HTTP/2 sessions with no stream (default 30000)
  --header-timeout-ms N close connections whose request headers take longer (default 10000)
  --request-timeout-ms N
                        fail a request whose body takes longer: REST 408, unary and
                        server-streaming RPCs DEADLINE_EXCEEDED (default 60000)
  --max-connections N   open connections at most per address; later ones are closed at
                        once (default 10000)
  --max-stream-buffer-bytes N
                        cut a response whose unread buffer grows past N bytes (default 8388608)
  --stream-stall-timeout-ms N
                        cut a response whose client reads nothing for N ms while its buffer
                        is full (default 30000)
  --shutdown-timeout-ms N
                        on SIGTERM/SIGINT, how long calls in flight may finish (default
                        10000); then every call still open ends with UNAVAILABLE
                        (a second signal stops at once)
  --cors-origin ORIGIN  let pages of ORIGIN (https://app.example.com, http://localhost:3000,
                        or * for any) call the server from a browser: CORS preflights are
                        answered and CORS headers set for gRPC-Web, Connect and REST
                        (repeatable; default none: no CORS headers)
  --set KEY=VALUE       a module setting (repeatable; listed below)
  --log-level L         error, warn, info (default: one line per request) or debug
  --log-format F        text (default) or json (one JSON object per line)
  --config FILE         JSON file with any of the options above (flags win)
  --quiet               log nothing but errors (--log-level error)
  --version             print the version
  --help                show this text

Environment: each option that takes a value may be given as a variable instead (a flag wins
over its variable, a variable over --config); --listen and --cors-origin take a
comma-separated list:
${wrap(ENV_FLAGS.map((f) => f.env).join(", "), "  ")}

Module settings (--set KEY=VALUE, or "settings" in --config); an unknown key or a value
not allowed is refused:
${settingsHelp(SETTINGS)}
`;

/** The baaaht socket when neither `--listen` nor `--grpc-socket-path` names one (the seed's). */
export const DEFAULT_GRPC_SOCKET_PATH = "/tmp/baaaht-grpc.sock";

/** The TCP address when no `--listen` is given. */
export const DEFAULT_TCP_LISTEN = "127.0.0.1:50051";

/** Wraps a line of comma-separated words at 90 columns. */
function wrap(text: string, indent: string): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line.length + word.length > 90 && line.trim() !== "") {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join("\n");
}

/** What the command line asks for besides the server's options. */
export interface CliOptions extends ServerOptions {
  /** `--help`: print the usage and exit. */
  help?: boolean;
  /** `--version`: print the version and exit. */
  version?: boolean;
  /** `--log-level` (`--quiet` is `error`). Default `info`. */
  logLevel: LogLevel;
  /** `--log-format`. Default `text`. */
  logFormat: LogFormat;
}

/**
 * Parses command-line flags into server options. Each option that takes a value may come
 * from its environment variable (`BATON_LISTEN`, `BATON_TOKEN`, `BATON_TLS_CERT`, ...; see
 * {@link envName}) or the `--config` file instead: a flag wins over its variable, a variable
 * over the file.
 *
 * With no `--listen` (flag, variable or config), the server listens on
 * {@link DEFAULT_TCP_LISTEN} and on the baaaht socket: `--grpc-socket-path`, else
 * `env.GRPC_SOCKET_PATH`, else {@link DEFAULT_GRPC_SOCKET_PATH}; with `--listen`,
 * `--grpc-socket-path` adds its socket to those addresses.
 *
 * @throws {Error} on bad flags, an unknown `--set` key or a value the setting does not allow.
 */
export function parseCli(argv: string[], env: Readonly<Record<string, string | undefined>> = process.env): CliOptions {
  const { values: flags } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  const values: typeof flags = { ...flags };
  const fromEnv = values as Record<string, string | string[] | boolean | undefined>;
  for (const f of ENV_FLAGS) {
    const raw = env[f.env];
    if (fromEnv[f.name] !== undefined || raw === undefined || raw.trim() === "") continue;
    fromEnv[f.name] = f.list
      ? raw
          .split(",")
          .map((v) => v.trim())
          .filter((v) => v !== "")
      : raw;
  }
  const file = values.config ? (JSON.parse(readFileSync(values.config, "utf8")) as Record<string, unknown>) : {};
  const pick = <T>(flag: T | undefined, key: string): T | undefined => flag ?? (file[key] as T | undefined);
  const cert = pick(values["tls-cert"], "tlsCert");
  const key = pick(values["tls-key"], "tlsKey");
  const clientCa = pick(values["tls-client-ca"], "tlsClientCa");
  if ((cert === undefined) !== (key === undefined)) throw new Error("--tls-cert and --tls-key go together");
  if (clientCa !== undefined && cert === undefined) throw new Error("--tls-client-ca needs --tls-cert and --tls-key");
  const settings: Record<string, string> = { ...((file.settings as Record<string, string> | undefined) ?? {}) };
  for (const kv of values.set ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new Error(`--set wants KEY=VALUE, got ${kv}`);
    settings[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const runtime = pick(values["container-runtime"], "containerRuntime");
  if (runtime !== undefined) {
    if (runtime !== "record" && runtime !== "process")
      throw new Error(`--container-runtime must be record or process, got ${runtime}`);
    settings["baaaht.containerRuntime"] = runtime;
  }
  const accounts = values["service-account"] ?? (file.serviceAccounts as string[] | undefined);
  if (accounts) {
    // The module's own parser, so the flag and the setting accept exactly the same lines.
    for (const a of accounts) parseServiceAccounts(a);
    settings["portarium.serviceAccounts"] = accounts.join("\n");
  }
  const jwtSecret = pick(values["jwt-secret"], "jwtSecret");
  if (jwtSecret !== undefined) settings["portarium.jwtSecret"] = jwtSecret;
  const maxBytesRaw = pick<string | number>(values["max-message-bytes"], "maxMessageBytes");
  let maxReceiveMessageBytes: number | undefined;
  if (maxBytesRaw !== undefined) {
    maxReceiveMessageBytes = Number(maxBytesRaw);
    if (!/^\d+$/.test(String(maxBytesRaw)) || maxReceiveMessageBytes < 1 || maxReceiveMessageBytes > 0xffffffff)
      throw new Error(`--max-message-bytes wants an integer from 1 to 4294967295, got ${maxBytesRaw}`);
  }
  checkSettings(settings, SETTINGS);
  const logLevel = pick(values["log-level"], "logLevel") ?? (values.quiet || file.quiet === true ? "error" : "info");
  if (!LOG_LEVELS.includes(logLevel as LogLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${logLevel}`);
  const logFormat = pick(values["log-format"], "logFormat") ?? "text";
  if (logFormat !== "text" && logFormat !== "json")
    throw new Error(`--log-format must be text or json, got ${logFormat}`);
  const limits: Partial<ConnectionLimits> & { maxSendMessageBytes?: number } = {};
  const intFlags = [
    ["max-send-message-bytes", "maxSendMessageBytes", 0xffffffff],
    ["connection-timeout-ms", "connectionTimeoutMs", 2 ** 31 - 1],
    ["header-timeout-ms", "headerTimeoutMs", 2 ** 31 - 1],
    ["request-timeout-ms", "requestTimeoutMs", 2 ** 31 - 1],
    ["max-connections", "maxConnections", 2 ** 31 - 1],
    ["max-stream-buffer-bytes", "maxStreamBufferBytes", Number.MAX_SAFE_INTEGER],
    ["stream-stall-timeout-ms", "streamStallTimeoutMs", 2 ** 31 - 1],
  ] as const;
  for (const [flag, key, max] of intFlags) {
    const raw = pick<string | number>(values[flag], key);
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!/^\d+$/.test(String(raw)) || n < 1 || n > max)
      throw new Error(`--${flag} wants an integer from 1 to ${max}, got ${raw}`);
    limits[key] = n;
  }
  const shutdownRaw = pick<string | number>(values["shutdown-timeout-ms"], "shutdownTimeoutMs");
  let shutdownTimeoutMs: number | undefined;
  if (shutdownRaw !== undefined) {
    shutdownTimeoutMs = Number(shutdownRaw);
    if (!/^\d+$/.test(String(shutdownRaw)) || !Number.isSafeInteger(shutdownTimeoutMs))
      throw new Error(`--shutdown-timeout-ms wants an integer >= 0, got ${shutdownRaw}`);
  }
  const socketPath = pick(values["grpc-socket-path"], "grpcSocketPath");
  if (socketPath !== undefined && socketPath === "") throw new Error("--grpc-socket-path wants a path");
  const given = values.listen ?? (file.listen as string[] | undefined);
  const listen = given
    ? [...given, ...(socketPath !== undefined ? [`unix://${socketPath}`] : [])]
    : [DEFAULT_TCP_LISTEN, `unix://${socketPath ?? (env.GRPC_SOCKET_PATH || DEFAULT_GRPC_SOCKET_PATH)}`];
  const corsOrigins = values["cors-origin"] ?? (file.corsOrigins as string[] | undefined);
  if (corsOrigins) parseCorsOrigins(corsOrigins);
  const token = pick(values.token, "token");
  return {
    logLevel: logLevel as LogLevel,
    logFormat,
    listen,
    ...(corsOrigins ? { corsOrigins } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(cert !== undefined && key !== undefined
      ? {
          tls: {
            cert: readFileSync(cert),
            key: readFileSync(key),
            ...(clientCa ? { clientCa: readFileSync(clientCa) } : {}),
          },
        }
      : {}),
    settings,
    ...(maxReceiveMessageBytes !== undefined ? { maxReceiveMessageBytes } : {}),
    ...limits,
    ...(shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs } : {}),
    ...(values.help ? { help: true } : {}),
    ...(values.version ? { version: true } : {}),
  };
}

/**
 * A logger writing one line per record to `out` (default stderr) at `level` and below:
 * `text` lines are `LEVEL message {fields}`, `json` lines one object each, with `time`,
 * `level` and `msg` before the record's fields.
 */
export function cliLogger(
  level: LogLevel,
  format: LogFormat,
  out: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const upTo = LOG_LEVELS.indexOf(level);
  const at = (name: LogLevel) => {
    if (LOG_LEVELS.indexOf(name) > upTo) return droppedLogMethod();
    return (message: string, fields?: Record<string, unknown>) => {
      out(
        format === "json"
          ? `${JSON.stringify({ time: new Date().toISOString(), level: name, msg: message, ...fields })}\n`
          : `${name} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}\n`,
      );
    };
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Runs the CLI: starts the server, prints its addresses, stops cleanly on SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<BatonServer | undefined> {
  // A log reader that goes away (a closed pipe: EPIPE) must not take the server down with
  // it: output errors are dropped, and the server goes on serving and shuts down cleanly.
  for (const out of [process.stdout, process.stderr]) if (out.listenerCount("error") === 0) out.on("error", () => {});
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (err) {
    process.stderr.write(`baton-server: ${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (options.version) {
    process.stdout.write(`baton-server ${VERSION}\n`);
    return undefined;
  }
  const { logLevel, logFormat, help: _help, version: _version, ...serverOptions } = options;
  const server = await startServer({ ...serverOptions, logger: cliLogger(logLevel, logFormat) });
  const stop = (signal: string) => {
    // A second signal while draining stops at once.
    process.once(signal, () => process.exit(1));
    process.stdout.write(`baton-server: ${signal}, shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`baton-server: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  // Announce readiness only once the signal handlers are in place: a supervisor may signal
  // the moment it reads these lines.
  for (const a of server.addresses) process.stdout.write(`baton-server listening on ${a}\n`);
  return server;
}
