import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Logger } from "@baton/core";
import { parseServiceAccounts } from "./portarium/service-accounts.js";
import { type BatonServer, type ServerOptions, startServer } from "./server.js";

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
  --shutdown-timeout-ms N
                        on SIGTERM/SIGINT, how long calls in flight may finish (default
                        10000); then every call still open ends with UNAVAILABLE
                        (a second signal stops at once)
  --set KEY=VALUE       a module setting (repeatable), e.g.
                        baaaht.agentHeartbeatTimeoutMs, baaaht.streamHeartbeatMs,
                        portarium.tokenTtlSeconds, portarium.invocationDurationMs,
                        portarium.idempotencyTtlMs, portarium.idempotencyMaxEntries,
                        portarium.sseKeepAliveMs, portarium.machineHeartbeatTimeoutMs,
                        portarium.connectionTestAllow=LIST (what agent connection tests may
                        dial: public, addresses, CIDRs, host names, each with an optional
                        :port; default public: loopback/private/link-local refused),
                        edgemesh.securityKey (default dev-key), edgemesh.fileRoot (default:
                        the working directory), edgemesh.join=HOST:PORT (join a mesh),
                        edgemesh.allowedCommands (default ls,pwd,echo,uname,date,whoami,hostname),
                        edgemesh.deviceName, edgemesh.deviceId, edgemesh.hasNpu, edgemesh.hasGpu,
                        edgemesh.localChatEndpoint, edgemesh.sessionTtlMs, edgemesh.ticketTtlMs;
                        retention bounds (README "Retention"): orca.maxEventsPerRun (10000),
                        orca.maxEventBytesPerRun (32 MiB), orca.maxTasksPerRun (10000),
                        orca.maxRuns (1000), baaaht.maxTasks, baaaht.maxSessions,
                        baaaht.maxResponses, stratavore.maxRunners, stratavore.maxSessions,
                        stratavore.maxTranscriptMessages, edgemesh.maxJobs,
                        edgemesh.maxSessions (each 10000), edgemesh.maxDevices (1000),
                        portarium.maxRunsPerWorkspace, portarium.maxApprovalsPerWorkspace,
                        portarium.maxInvocationsPerWorkspace (each 10000),
                        portarium.maxEvidencePerWorkspace (100000)
  --config FILE         JSON file with any of the options above (flags win)
  --quiet               log nothing but errors
  --help                show this text
`;

/** The baaaht socket when neither `--listen` nor `--grpc-socket-path` names one (the seed's). */
export const DEFAULT_GRPC_SOCKET_PATH = "/tmp/baaaht-grpc.sock";

/** The TCP address when no `--listen` is given. */
export const DEFAULT_TCP_LISTEN = "127.0.0.1:50051";

/**
 * Parses command-line flags into server options. With no `--listen` (flag or config), the
 * server listens on {@link DEFAULT_TCP_LISTEN} and on the baaaht socket:
 * `--grpc-socket-path`, else `env.GRPC_SOCKET_PATH`, else {@link DEFAULT_GRPC_SOCKET_PATH};
 * with `--listen`, `--grpc-socket-path` adds its socket to those addresses.
 *
 * @throws {Error} on bad flags.
 */
export function parseCli(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ServerOptions & { help?: boolean; quiet?: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
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
      config: { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
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
  const token = pick(values.token, "token");
  return {
    listen,
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
    ...(shutdownTimeoutMs !== undefined ? { shutdownTimeoutMs } : {}),
    ...(values.help ? { help: true } : {}),
    ...(values.quiet ? { quiet: true } : {}),
  };
}

/** A logger writing one line per record to stderr. */
export function stderrLogger(quiet: boolean): Logger {
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    process.stderr.write(`${level} ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}\n`);
  };
  const noop = () => {};
  return { debug: noop, info: quiet ? noop : line("info"), warn: quiet ? noop : line("warn"), error: line("error") };
}

/** Runs the CLI: starts the server, prints its addresses, stops cleanly on SIGINT/SIGTERM. */
export async function main(argv: string[]): Promise<BatonServer | undefined> {
  let options: ReturnType<typeof parseCli>;
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
  const server = await startServer({ ...options, logger: stderrLogger(options.quiet ?? false) });
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
