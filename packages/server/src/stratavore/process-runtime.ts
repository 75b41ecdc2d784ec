import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { systemClock } from "../clock.js";
import type { ExitInfo, RunnerRuntime, RunnerSpec, RuntimeEvents } from "./runtime.js";

interface Child {
  proc: ChildProcess;
  startedAt: number;
  exit: ExitInfo | undefined;
  exited: Promise<ExitInfo>;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS = 100;

/**
 * Runs `command` (through `/bin/sh -c`) per runner, in the project's `path`, in its own
 * process group. Every stdout line becomes a transcript message (see `transcriptLine`).
 * Environment: the server's, the project's `config.environment`, and `STRATAVORE_RUNNER_ID`,
 * `STRATAVORE_SESSION_ID`, `STRATAVORE_PROJECT`, `STRATAVORE_MODEL`, `STRATAVORE_TEMPERATURE`,
 * `STRATAVORE_MAX_TOKENS`, `STRATAVORE_RESUMED` (`1` when continuing a session).
 */
export class ProcessRuntime implements RunnerRuntime {
  readonly kind = "process" as const;
  readonly description: string;
  readonly #command: string;
  readonly #events: RuntimeEvents;
  readonly #stopTimeoutMs: number;
  readonly #children = new Map<string, Child>();

  constructor(command: string, events: RuntimeEvents, stopTimeoutMs: number) {
    this.#command = command;
    this.#events = events;
    this.#stopTimeoutMs = stopTimeoutMs;
    this.description = `process runtime: runs \`${command}\` per runner in the project's path; its stdout lines are the session transcript`;
  }

  start(spec: RunnerSpec): Promise<void> {
    const proc = spawn("/bin/sh", ["-c", this.#command], {
      cwd: spec.path,
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
      env: {
        ...process.env,
        ...spec.environment,
        STRATAVORE_RUNNER_ID: spec.runnerId,
        STRATAVORE_SESSION_ID: spec.sessionId,
        STRATAVORE_PROJECT: spec.projectName,
        STRATAVORE_MODEL: spec.model,
        STRATAVORE_TEMPERATURE: String(spec.temperature),
        STRATAVORE_MAX_TOKENS: String(spec.maxTokens),
        STRATAVORE_RESUMED: spec.resumed ? "1" : "0",
      },
    });
    let settle!: (e: ExitInfo) => void;
    const child: Child = {
      proc,
      startedAt: Date.now(),
      exit: undefined,
      exited: new Promise((r) => {
        settle = r;
      }),
    };
    this.#children.set(spec.runnerId, child);
    const finish = (info: ExitInfo) => {
      if (child.exit) return;
      child.exit = info;
      settle(info);
      this.#events.exit(spec.runnerId, info);
    };
    // Lines are handed over only after the process is known, in order, before its exit.
    let lines = Promise.resolve();
    if (proc.stdout) {
      const rl = createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on("line", (line) => this.#events.output(spec.runnerId, line));
      lines = new Promise((r) => rl.once("close", () => r()));
    }
    return new Promise((resolve, reject) => {
      proc.once("spawn", () => resolve());
      proc.once("error", (err) => {
        finish({ code: null, signal: null, error: err.message });
        reject(err);
      });
      proc.once("exit", (code, signal) => {
        void lines.then(() => finish({ code, signal }));
      });
    });
  }

  async stop(runnerId: string, force: boolean): Promise<void> {
    const child = this.#children.get(runnerId);
    if (!child || child.exit) return;
    this.#signal(child, "SIGCONT");
    this.#signal(child, force ? "SIGKILL" : "SIGTERM");
    const cancel = systemClock.setTimer(() => this.#signal(child, "SIGKILL"), this.#stopTimeoutMs);
    await child.exited;
    cancel();
  }

  pause(runnerId: string): void {
    const child = this.#children.get(runnerId);
    if (child && !child.exit) this.#signal(child, "SIGSTOP");
  }

  resume(runnerId: string): void {
    const child = this.#children.get(runnerId);
    if (child && !child.exit) this.#signal(child, "SIGCONT");
  }

  exitOf(runnerId: string): ExitInfo | undefined {
    return this.#children.get(runnerId)?.exit;
  }

  pid(runnerId: string): number | undefined {
    return this.#children.get(runnerId)?.proc.pid;
  }

  usage(runnerId: string): {
    /** CPU use, percent of one core averaged since the process started; 0 without a live process. */
    cpuPercent: number;
    /** Resident memory, MiB; 0 without a live process. */
    memoryMb: number;
  } {
    const child = this.#children.get(runnerId);
    const pid = child?.proc.pid;
    if (!child || child.exit || pid === undefined) return { cpuPercent: 0, memoryMb: 0 };
    try {
      const rss = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
      const elapsed = Math.max((Date.now() - child.startedAt) / 1000, 0.001);
      return {
        cpuPercent: Math.round((ticks / CLOCK_TICKS / elapsed) * 100 * 100) / 100,
        memoryMb: rss ? Math.round(Number(rss[1]) / 1024) : 0,
      };
    } catch {
      // Not Linux, or the process just ended.
      return { cpuPercent: 0, memoryMb: 0 };
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.stop(id, true)));
    this.#children.clear();
  }

  #signal(child: Child, signal: NodeJS.Signals): void {
    const pid = child.proc.pid;
    if (pid === undefined || child.exit) return;
    try {
      process.kill(-pid, signal); // the whole group: sh and what it started
    } catch {
      try {
        child.proc.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * How a stdout line becomes a transcript message: a JSON object
 * `{"role": "user"|"assistant"|"system", "content": "...", "tokens": N, "metadata": {...}}`
 * is taken as it is (role defaults to assistant, tokens to the content's word count); any
 * other line is an assistant message whose tokens are its word count. Blank lines are skipped.
 */
export function transcriptLine(line: string):
  | {
      /** `user`, `assistant` or `system`; `assistant` unless the JSON line names one of the others. */
      role: string;
      /** The message text (the whole line when it is not JSON). */
      content: string;
      /** The JSON line's `tokens`, else the content's word count. */
      tokens: bigint;
      /** The JSON line's `metadata`, each value turned into a string; else empty. */
      metadata: Record<string, string>;
    }
  | undefined {
  if (line.trim() === "") return undefined;
  const words = (s: string) => BigInt(s.split(/\s+/).filter((w) => w !== "").length);
  if (line.trimStart().startsWith("{")) {
    try {
      const v = JSON.parse(line) as Record<string, unknown>;
      if (typeof v === "object" && v !== null && typeof v.content === "string") {
        const role =
          typeof v.role === "string" && ["user", "assistant", "system"].includes(v.role) ? v.role : "assistant";
        const tokens =
          typeof v.tokens === "number" && Number.isSafeInteger(v.tokens) && v.tokens >= 0
            ? BigInt(v.tokens)
            : words(v.content);
        const metadata: Record<string, string> = {};
        if (typeof v.metadata === "object" && v.metadata !== null)
          for (const [k, val] of Object.entries(v.metadata)) metadata[k] = String(val);
        return { role, content: v.content, tokens, metadata };
      }
    } catch {
      // not JSON after all: a plain line
    }
  }
  return { role: "assistant", content: line, tokens: words(line), metadata: {} };
}
