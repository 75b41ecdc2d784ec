import { spawn } from "node:child_process";
import { Code, ConnectError } from "@connectrpc/connect";

/** A finished command. */
export interface CommandOutcome {
  /** Exit code (124 when killed for running too long, 127 when it could not be started). */
  exitCode: number;
  /** Standard output, at most the cap. */
  stdout: string;
  /** Standard error, at most the cap, plus a note when the command was cut short. */
  stderr: string;
}

/** How commands run. */
export interface CommandLimits {
  /** Command names that may run. */
  allowed: readonly string[];
  /** Kill after this long, ms. */
  timeoutMs: number;
  /** Most bytes kept of stdout and of stderr. */
  outputBytes: number;
  /** Working directory. */
  cwd: string;
}

/**
 * Runs an allowlisted command as a child process with the given args and no shell, in
 * `cwd`, killed after `timeoutMs`, output capped at `outputBytes` per stream.
 *
 * @throws {ConnectError} PERMISSION_DENIED for a command not on the allowlist (a path
 *   like `/bin/ls` is never on it), INVALID_ARGUMENT for an empty one.
 */
export function runCommand(command: string, args: readonly string[], limits: CommandLimits): Promise<CommandOutcome> {
  if (command === "") return Promise.reject(new ConnectError("command is empty", Code.InvalidArgument));
  if (!limits.allowed.includes(command) || command.includes("/") || command.includes("\\")) {
    return Promise.reject(
      new ConnectError(
        `command ${JSON.stringify(command)} is not allowed (allowed: ${limits.allowed.join(", ")})`,
        Code.PermissionDenied,
      ),
    );
  }
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let truncated = false;
    let timedOut = false;
    const child = spawn(command, [...args], { cwd: limits.cwd, shell: false, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (chunks: Buffer[], len: number, chunk: Buffer): number => {
      const room = limits.outputBytes - len;
      if (room <= 0) {
        truncated = true;
        return len;
      }
      if (chunk.length > room) truncated = true;
      chunks.push(chunk.subarray(0, room));
      return len + Math.min(room, chunk.length);
    };
    child.stdout.on("data", (c: Buffer) => {
      outLen = keep(out, outLen, c);
    });
    child.stderr.on("data", (c: Buffer) => {
      errLen = keep(err, errLen, c);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limits.timeoutMs);
    let spawnError: Error | undefined;
    child.on("error", (e) => {
      spawnError = e;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      let stderr = Buffer.concat(err).toString("utf8");
      let exitCode = code ?? 1;
      if (spawnError) {
        exitCode = 127;
        stderr += `${command}: ${spawnError.message}\n`;
      }
      if (timedOut) {
        exitCode = 124;
        stderr += `${command}: killed after ${limits.timeoutMs} ms\n`;
      }
      if (truncated) stderr += `${command}: output cut at ${limits.outputBytes} bytes\n`;
      resolve({ exitCode, stdout: Buffer.concat(out).toString("utf8"), stderr });
    });
  });
}
