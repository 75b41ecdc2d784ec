import { spawn } from "node:child_process";
import { Code, ConnectError } from "@connectrpc/connect";
import { systemClock } from "../clock.js";

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
 * Decodes a stream's kept bytes; when the cap cut it, drops a UTF-8 sequence the cut left
 * incomplete at the end, so the answer never ends in a replacement character we made.
 */
function text(chunks: Buffer[], cut: boolean): string {
  const b = Buffer.concat(chunks);
  if (!cut) return b.toString("utf8");
  // Walk back over at most 3 continuation bytes (10xxxxxx) to the last lead byte.
  let lead = b.length - 1;
  while (lead >= 0 && lead > b.length - 4 && ((b[lead] ?? 0) & 0xc0) === 0x80) lead--;
  if (lead < 0) return b.toString("utf8");
  const first = b[lead] ?? 0;
  const need = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return b.subarray(0, lead + need <= b.length ? b.length : lead).toString("utf8");
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
    let outCut = false;
    let errCut = false;
    let timedOut = false;
    const child = spawn(command, [...args], { cwd: limits.cwd, shell: false, stdio: ["ignore", "pipe", "pipe"] });
    /** Keeps what fits of `chunk`; answers the new length and whether some was dropped. */
    const keep = (chunks: Buffer[], len: number, chunk: Buffer): [number, boolean] => {
      const room = limits.outputBytes - len;
      if (room <= 0) return [len, chunk.length > 0];
      chunks.push(chunk.subarray(0, room));
      return [len + Math.min(room, chunk.length), chunk.length > room];
    };
    child.stdout.on("data", (c: Buffer) => {
      let cut: boolean;
      [outLen, cut] = keep(out, outLen, c);
      outCut ||= cut;
    });
    child.stderr.on("data", (c: Buffer) => {
      let cut: boolean;
      [errLen, cut] = keep(err, errLen, c);
      errCut ||= cut;
    });
    const cancelTimer = systemClock.setTimer(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, limits.timeoutMs);
    let spawnError: Error | undefined;
    child.on("error", (e) => {
      spawnError = e;
    });
    child.on("close", (code) => {
      cancelTimer();
      let stderr = text(err, errCut);
      let exitCode = code ?? 1;
      if (spawnError) {
        exitCode = 127;
        stderr += `${command}: ${spawnError.message}\n`;
      }
      if (timedOut) {
        exitCode = 124;
        stderr += `${command}: killed after ${limits.timeoutMs} ms\n`;
      }
      if (outCut || errCut) stderr += `${command}: output cut at ${limits.outputBytes} bytes\n`;
      resolve({ exitCode, stdout: text(out, outCut), stderr });
    });
  });
}
