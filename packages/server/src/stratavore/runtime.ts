/** How a runner's process ended. */
export interface ExitInfo {
  /** Exit code, or null when a signal ended it (or it never started). */
  code: number | null;
  /** The signal that ended it, if one did. */
  signal: string | null;
  /** Why it could not start, when it could not. */
  error?: string;
}

/** What a runtime needs to start one runner. */
export interface RunnerSpec {
  /** The runner to start. */
  runnerId: string;
  /** The session the runner's output is written to. */
  sessionId: string;
  /** The runner's project. */
  projectName: string;
  /** The project's working directory: the process runs there. */
  path: string;
  /** The model the runner uses (one of `stratavore.models`). */
  model: string;
  /** Sampling temperature, 0 to `stratavore.maxTemperature`. */
  temperature: number;
  /** Largest response, tokens. */
  maxTokens: number;
  /** The project's `config.environment`. */
  environment: Record<string, string>;
  /** Whether this start continues an existing session (resume or restart). */
  resumed: boolean;
}

/** What a runtime tells the state about its runners. */
export interface RuntimeEvents {
  /** A line the runner printed on stdout: it becomes a transcript message. */
  output(runnerId: string, line: string): void;
  /** The runner's process ended, whoever ended it. */
  exit(runnerId: string, info: ExitInfo): void;
}

/** Runs (or records) runners. */
export interface RunnerRuntime {
  /** `record` or `process`. */
  readonly kind: "record" | "process";
  /** One sentence on what it does, reported by GetStatus. */
  readonly description: string;
  /** Starts a runner; resolves once it runs, rejects when it cannot start. */
  start(spec: RunnerSpec): Promise<void>;
  /** Ends a runner (SIGTERM, or SIGKILL when `force`); resolves once it is gone. */
  stop(runnerId: string, force: boolean): Promise<void>;
  /** Suspends a runner (SIGSTOP). */
  pause(runnerId: string): void;
  /** Continues a suspended runner (SIGCONT). */
  resume(runnerId: string): void;
  /** How the runner's process ended, once it has (undefined while it runs or never ran). */
  exitOf(runnerId: string): ExitInfo | undefined;
  /** The runner's process id, where there is a process. */
  pid(runnerId: string): number | undefined;
  /** CPU (percent of one core, averaged since start) and resident memory (MiB) of the runner. */
  usage(runnerId: string): {
    /** CPU use, percent of one core averaged since the process started; 0 without a live process. */
    cpuPercent: number;
    /** Resident memory, MiB; 0 without a live process. */
    memoryMb: number;
  };
  /** Ends every runner. */
  close(): Promise<void>;
}

/**
 * The default runtime: no model and no process runs; it records the lifecycle (a runner
 * runs from start until it is stopped) so every rule above it can be exercised.
 */
export class RecordRuntime implements RunnerRuntime {
  readonly kind = "record" as const;
  readonly description = "record runtime: records each runner's lifecycle without running anything";
  readonly #running = new Set<string>();

  async start(spec: RunnerSpec): Promise<void> {
    this.#running.add(spec.runnerId);
  }
  async stop(runnerId: string): Promise<void> {
    this.#running.delete(runnerId);
  }
  pause(): void {}
  resume(): void {}
  exitOf(): ExitInfo | undefined {
    return undefined;
  }
  pid(): number | undefined {
    return undefined;
  }
  usage(): {
    /** CPU use, percent of one core averaged since the process started; 0 without a live process. */
    cpuPercent: number;
    /** Resident memory, MiB; 0 without a live process. */
    memoryMb: number;
  } {
    return { cpuPercent: 0, memoryMb: 0 };
  }
  async close(): Promise<void> {
    this.#running.clear();
  }
}
