import { type ChildProcess, spawn } from "node:child_process";
import type { ContainerConfig } from "@baton/wire/baaaht";
import { systemClock } from "../clock.js";

/** How a container ended. */
export interface ContainerExit {
  /** The exit code (128 + signal number when killed by a signal, -1 when it could not start). */
  exitCode: number;
  /** The signal that ended it, if any. */
  signal: string | undefined;
  /** Why it could not start, when spawning failed. */
  error: string | undefined;
}

/** Whether a runtime can start containers now, and what it says about itself. */
export interface RuntimeHealth {
  /** Whether new containers can start. */
  available: boolean;
  /** What it is doing, or why it cannot start containers. */
  detail: string;
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
  /** Whether it can start containers now (HealthCheck reports it). */
  health(): RuntimeHealth;
  /** Kills everything still running; the runtime starts nothing afterwards. */
  close(): Promise<void>;
}

/** Records the lifecycle and executes nothing: containers run until stopped, exit code 0. */
export class RecordRuntime implements ContainerRuntime {
  readonly kind = "record" as const;
  readonly description =
    "record: no container engine; the lifecycle (created, running, stopped, removed) is recorded and nothing is executed";
  readonly #running = new Set<string>();
  #closed = false;

  start(id: string, _config: ContainerConfig, onExit: (exit: ContainerExit) => void): void {
    if (this.#closed) {
      queueMicrotask(() => onExit({ exitCode: -1, signal: undefined, error: "the container runtime is closed" }));
      return;
    }
    this.#running.add(id);
  }

  async stop(id: string): Promise<ContainerExit | undefined> {
    if (!this.#running.delete(id)) return undefined;
    return { exitCode: 0, signal: undefined, error: undefined };
  }

  isRunning(id: string): boolean {
    return this.#running.has(id);
  }

  health(): RuntimeHealth {
    if (this.#closed) return { available: false, detail: "closed" };
    return { available: true, detail: `${this.#running.size} containers recorded as running` };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#running.clear();
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Errors of `spawn` that say this machine cannot start processes now (out of process slots,
 * file descriptors or memory), as opposed to a container whose command is wrong.
 */
const SYSTEM_SPAWN_ERRORS = new Set(["EAGAIN", "EMFILE", "ENFILE", "ENOMEM"]);

/** Options of a {@link ProcessRuntime}. */
export interface ProcessRuntimeOptions {
  /** How child processes are started (default: `child_process.spawn`); tests inject failures. */
  spawn?: typeof spawn;
}

/**
 * Runs each container's `command` + `args` as a local child process in its `working_dir`
 * with its `env` (added to this process's PATH only). The image is recorded, not pulled.
 */
export class ProcessRuntime implements ContainerRuntime {
  readonly kind = "process" as const;
  readonly description =
    "process: each container's command and args run as a local child process in its working directory with its environment";
  readonly #children = new Map<string, { child: ChildProcess; exited: Promise<ContainerExit> }>();
  readonly #spawn: typeof spawn;
  /** Why the last start failed for a reason of this machine, not of the container; cleared by the next success. */
  #systemError: string | undefined;
  #closed = false;

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#spawn = options.spawn ?? spawn;
  }

  start(id: string, config: ContainerConfig, onExit: (exit: ContainerExit) => void): void {
    if (this.#closed) {
      queueMicrotask(() => onExit({ exitCode: -1, signal: undefined, error: "the container runtime is closed" }));
      return;
    }
    const [cmd, ...cmdArgs] = config.command;
    if (cmd === undefined) {
      queueMicrotask(() => onExit({ exitCode: -1, signal: undefined, error: "the container has no command" }));
      return;
    }
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...config.env };
    let child: ChildProcess;
    try {
      child = this.#spawn(cmd, [...cmdArgs, ...config.args], {
        cwd: config.workingDir || undefined,
        env,
        stdio: "ignore",
      });
    } catch (err) {
      this.#noteSpawnError(err);
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
      child.once("spawn", () => {
        this.#systemError = undefined;
      });
      child.once("error", (err) => {
        this.#noteSpawnError(err);
        finish({ exitCode: -1, signal: undefined, error: err.message });
      });
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
    // On the system clock's timers: a StopContainer timeout past 2^31-1 ms must not SIGKILL after 1 ms.
    const cancel = systemClock.setTimer(() => entry.child.kill("SIGKILL"), timeoutMs);
    try {
      return await entry.exited;
    } finally {
      cancel();
    }
  }

  isRunning(id: string): boolean {
    return this.#children.has(id);
  }

  health(): RuntimeHealth {
    if (this.#closed) return { available: false, detail: "closed" };
    if (this.#systemError) return { available: false, detail: `cannot start processes: ${this.#systemError}` };
    return { available: true, detail: `${this.#children.size} processes running` };
  }

  #noteSpawnError(err: unknown): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code && SYSTEM_SPAWN_ERRORS.has(code)) this.#systemError = (err as Error).message || code;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#children.keys()].map((id) => this.stop(id, 0)));
  }
}

/** The runtime named by the `baaaht.containerRuntime` setting (default `record`). */
export function createRuntime(kind: string | undefined): ContainerRuntime {
  if (kind === undefined || kind === "" || kind === "record") return new RecordRuntime();
  if (kind === "process") return new ProcessRuntime();
  throw new Error(`unknown baaaht.containerRuntime ${kind}: use record or process`);
}
