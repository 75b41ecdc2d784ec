import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "@baton/cli";
import { type BatonServer, startServer } from "@baton/server";

/** The built `baton` bin, as `npx baton` runs it. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

/** What one `baton` run printed and how it ended. */
export interface Run {
  /** The exit code (null when a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link baton}. */
export interface BatonOptions {
  /** Written to its stdin, which is then closed. */
  stdin?: string;
  /** Extra environment variables (the address and token variables of every system are cleared first). */
  env?: Record<string, string>;
  /** Called with the child once it runs (to signal it). */
  onSpawn?: (child: ChildProcess) => void;
  /** Called with each chunk of stdout. */
  onStdout?: (text: string, child: ChildProcess) => void;
}

const CLEARED = [
  "ORCA_ADDR",
  "ORCA_TOKEN",
  "GRPC_SOCKET_PATH",
  "BAAAHT_TOKEN",
  "PORTARIUM_URL",
  "PORTARIUM_TOKEN",
  "PORTARIUM_WORKSPACE",
  "PORTARIUM_CLIENT_ID",
  "PORTARIUM_CLIENT_SECRET",
  "STRATAVORE_ADDR",
  "STRATAVORE_TOKEN",
  "GRPC_ADDR",
  "EDGEMESH_TOKEN",
];

/**
 * Runs `baton args...` as a child process (stdout and stderr are pipes, so not terminals)
 * and answers its exit code and output. Asynchronous, so an in-process server keeps serving.
 */
export function baton(args: string[], options: BatonOptions = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of CLEARED) delete env[k];
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      options.onStdout?.(d, child);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
    options.onSpawn?.(child);
  });
}

/** The one JSON document a run printed on stdout. */
export function json<T = unknown>(run: Run): T {
  return JSON.parse(run.stdout) as T;
}

/** The NDJSON lines a run printed on stdout. */
export function ndjson<T = unknown>(run: Run): T[] {
  return run.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

/** The error a failed run printed: exactly one JSON line on stderr. */
export function stderrError(run: Run): Record<string, unknown> {
  const lines = run.stderr.split("\n").filter((l) => l !== "");
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${JSON.stringify(run.stderr)}`);
  return (JSON.parse(lines[0] ?? "") as { error: Record<string, unknown> }).error;
}

/**
 * Runs `baton args...` in this process through `main()`, the function the bin calls, with
 * pipes (not terminals) for stdout and stderr: the same parsing and output without a
 * process start, for the many small cases.
 */
export async function inProcess(args: string[], stdin = ""): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    stdin: (async function* () {
      yield stdin;
    })(),
    env: {},
  });
  return { code, stdout, stderr };
}

/** A baton-server for the CLI tests: every module, on TCP and a temp Unix socket. */
export interface CliTestServer {
  server: BatonServer;
  /** Its temp directory (the socket lives there; tests may write files there). */
  dir: string;
  /** `127.0.0.1:PORT`. */
  tcp: string;
  /** `unix:///tmp/.../baaaht.sock`. */
  socket: string;
  /** Stops the server and removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts baton-server in this process on port 0 and a temp Unix socket, with a Portarium
 * service account `demo:s3cret` for `ws-a` and machine invocations that take 50 ms.
 */
export async function startCliTestServer(): Promise<CliTestServer> {
  const dir = mkdtempSync(join(tmpdir(), "baton-cli-"));
  const server = await startServer({
    listen: ["127.0.0.1:0", `unix://${join(dir, "baaaht.sock")}`],
    settings: {
      "portarium.serviceAccounts": "demo:s3cret:ws-a",
      "portarium.jwtSecret": "test-secret",
      "portarium.invocationDurationMs": "50",
    },
  });
  return {
    server,
    dir,
    tcp: server.addresses[0] ?? "",
    socket: server.addresses[1] ?? "",
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
