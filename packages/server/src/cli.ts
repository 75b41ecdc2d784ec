import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Logger } from "@baton/core";
import type { ConnectionLimits } from "./connection-limits.js";
import { parseServiceAccounts } from "./portarium/service-accounts.js";
import { type BatonServer, type ServerOptions, startServer } from "./server.js";

/** The `baton-server --help` text. */
export const USAGE = `Usage: baton-server [options]

The Baton reference server: every orchestrator contract (gRPC, gRPC-Web, Connect, REST)
on every address, HTTP/1.1 and HTTP/2 on the same port.

Options:
  --listen ADDR         127.0.0.1:PORT or unix:///path (repeatable; default 127.0.0.1:50051)
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

/** Parses command-line flags into server options. @throws {Error} on bad flags. */
export function parseCli(argv: string[]): ServerOptions & { help?: boolean; quiet?: boolean } {
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
      "max-send-message-bytes": { type: "string" },
      "connection-timeout-ms": { type: "string" },
      "header-timeout-ms": { type: "string" },
      "request-timeout-ms": { type: "string" },
      "max-connections": { type: "string" },
      "max-stream-buffer-bytes": { type: "string" },
      "stream-stall-timeout-ms": { type: "string" },
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
  const listen = values.listen ?? (file.listen as string[] | undefined);
  const token = pick(values.token, "token");
  return {
    ...(listen ? { listen } : {}),
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
