import { type ChildProcess, spawn } from "node:child_process";
import type { ContainerConfig } from "@baton/wire/baaaht";

/** How a container ended. */
export interface ContainerExit {
  /** The exit code (128 + signal number when killed by a signal, -1 when it could not start). */
  exitCode: number;
  /** The signal that ended it, if any. */
  signal: string | undefined;
  /** Why it could not start, when spawning failed. */
  error: string | undefined;
}

/**
 * Runs (or pretends to run) containers. baton-server has no container engine; the
 * `record` runtime only records the lifecycle, the `process` runtime runs the container's
 * command as a local child process.
 */
export interface ContainerRuntime {
  /** `record` or `process`. */
  readonly kind: "record" | "process";
  /** What GetStatus and the docs say about it. */
  readonly description: string;
  /** Starts the container; `onExit` is called once when it ends by itself or is stopped. */
  start(id: string, config: ContainerConfig, onExit: (exit: ContainerExit) => void): void;
  /** Stops it: SIGTERM, then SIGKILL after `timeoutMs`. Resolves once it has ended. */
  stop(id: string, timeoutMs: number): Promise<ContainerExit | undefined>;
  /** Whether the container is still running. */
  isRunning(id: string): boolean;
  /** Kills everything still running. */
  close(): Promise<void>;
}

/** Records the lifecycle and executes nothing: containers run until stopped, exit code 0. */
export class RecordRuntime implements ContainerRuntime {
  readonly kind = "record" as const;
  readonly description =
    "record: no container engine; the lifecycle (created, running, stopped, removed) is recorded and nothing is executed";
  readonly #running = new Set<string>();

  start(id: string): void {
    this.#running.add(id);
  }

  async stop(id: string): Promise<ContainerExit | undefined> {
    if (!this.#running.delete(id)) return undefined;
    return { exitCode: 0, signal: undefined, error: undefined };
  }

  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  async close(): Promise<void> {
    this.#running.clear();
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Runs each container's `command` + `args` as a local child process in its `working_dir`
 * with its `env` (added to this process's PATH only). The image is recorded, not pulled.
 */
export class ProcessRuntime implements ContainerRuntime {
  readonly kind = "process" as const;
  readonly description =
    "process: each container's command and args run as a local child process in its working directory with its environment";
  readonly #children = new Map<string, { child: ChildProcess; exited: Promise<ContainerExit> }>();

  start(id: string, config: ContainerConfig, onExit: (exit: ContainerExit) => void): void {
    const [cmd, ...cmdArgs] = config.command;
    if (cmd === undefined) {
      queueMicrotask(() => onExit({ exitCode: -1, signal: undefined, error: "the container has no command" }));
      return;
    }
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...config.env };
    let child: ChildProcess;
    try {
      child = spawn(cmd, [...cmdArgs, ...config.args], {
        cwd: config.workingDir || undefined,
        env,
        stdio: "ignore",
      });
    } catch (err) {
      queueMicrotask(() => onExit({ exitCode: -1, signal: undefined, error: String(err) }));
      return;
    }
    const exited = new Promise<ContainerExit>((resolve) => {
      let done = false;
      const finish = (exit: ContainerExit) => {
        if (done) return;
        done = true;
        this.#children.delete(id);
        resolve(exit);
        onExit(exit);
      };
      child.once("error", (err) => finish({ exitCode: -1, signal: undefined, error: err.message }));
      child.once("exit", (code, signal) =>
        finish({
          exitCode: code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0),
          signal: signal ?? undefined,
          error: undefined,
        }),
      );
    });
    this.#children.set(id, { child, exited });
  }

  async stop(id: string, timeoutMs: number): Promise<ContainerExit | undefined> {
    const entry = this.#children.get(id);
    if (!entry) return undefined;
    entry.child.kill("SIGTERM");
    const timer = setTimeout(() => entry.child.kill("SIGKILL"), Math.max(0, timeoutMs));
    timer.unref();
    try {
      return await entry.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  isRunning(id: string): boolean {
    return this.#children.has(id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.stop(id, 0)));
  }
}

/** The runtime named by the `baaaht.containerRuntime` setting (default `record`). */
export function createRuntime(kind: string | undefined): ContainerRuntime {
  if (kind === undefined || kind === "" || kind === "record") return new RecordRuntime();
  if (kind === "process") return new ProcessRuntime();
  throw new Error(`unknown baaaht.containerRuntime ${kind}: use record or process`);
}
