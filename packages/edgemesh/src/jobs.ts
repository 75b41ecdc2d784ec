import {
  type CallOptions,
  callOrThrow,
  connectCallOptions,
  DeadlineExceededError,
  deadline,
  InvalidArgumentError,
  toBatonError,
} from "@baton/core";
import type { OrchestratorService, TaskStatus, JobStatus as WireJobStatus } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import { type PlanInput, wirePlan } from "./plan.js";
import type { SessionKeeper } from "./session.js";

/** QUEUED, RUNNING, DONE or FAILED. */
export type JobState = "QUEUED" | "RUNNING" | "DONE" | "FAILED";

/** One task of a job. */
export interface JobTask {
  /** Task id. */
  taskId: string;
  /** Device it runs on ("" when none could take it). */
  deviceId: string;
  /** That device's name. */
  deviceName: string;
  /** Its state. */
  state: JobState;
  /** Its output. */
  result: string;
  /** Why it failed. */
  error: string;
}

/** A job's state (GetJob). */
export interface JobStatus {
  /** The job. */
  id: string;
  /** Its state. */
  state: JobState;
  /** Its tasks, in plan order. */
  tasks: JobTask[];
  /** CONCAT of the outputs, in plan order, once DONE. */
  finalResult: string;
  /** 1-based number of the group running (0 while QUEUED). */
  currentGroup: number;
  /** Number of groups. */
  totalGroups: number;
}

/** A job with timing (GetJobDetail). */
export interface JobDetail extends Omit<JobStatus, "tasks"> {
  /** Tasks with kind, input, group and timing. */
  tasks: Array<
    JobTask & {
      /** The task kind (`SYSINFO`, `ECHO`, `LLM_GENERATE`, ...). */
      kind: string;
      /** The task's input as submitted (the prompt, the echo text, ...). */
      input: string;
      /** The 0-based index of the plan group the task is in. */
      groupIndex: number;
      /** When it started running; `undefined` while it waits. */
      startedAt: Date | undefined;
      /** When it finished or failed; `undefined` until then. */
      endedAt: Date | undefined;
    }
  >;
  /** Created. */
  createdAt: Date;
  /** Started running. */
  startedAt: Date | undefined;
  /** Finished. */
  endedAt: Date | undefined;
}

/** What `jobs.submit()` takes. */
export interface SubmitJobInput {
  /** What the job is about. */
  text: string;
  /** The plan (see `PlanBuilder`); unset: the server's previewed plan. */
  plan?: PlanInput;
  /** Most devices to use; 0 or unset: all. */
  maxWorkers?: number;
  /** How outputs are combined: `CONCAT` (the default). */
  reduce?: "CONCAT";
}

const TERMINAL = new Set<string>(["DONE", "FAILED"]);
const ms = (v: bigint) => (v === 0n ? undefined : new Date(Number(v)));

/** Stops early when `signal` aborts. */
function pause(delayMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(toBatonError(signal.reason));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    const onAbort = () => {
      clearTimeout(t);
      reject(toBatonError(signal?.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A submitted job. Made by `jobs.submit()` or `jobs.getHandle(id)`. */
export class JobHandle {
  /** The job id. */
  readonly id: string;
  readonly #raw: Client<typeof OrchestratorService>;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, id: string) {
    this.#raw = raw;
    this.id = id;
  }

  /** The job's state now. @throws {NotFoundError} for an unknown job. */
  async status(options: CallOptions = {}): Promise<JobStatus> {
    const s = await callOrThrow(() => this.#raw.getJob({ jobId: this.id }, connectCallOptions(options)));
    return jobOf(s, s.tasks.map(taskOf));
  }

  /** The job with per-task timing. @throws {NotFoundError} for an unknown job. */
  async detail(options: CallOptions = {}): Promise<JobDetail> {
    const d = await callOrThrow(() => this.#raw.getJobDetail({ jobId: this.id }, connectCallOptions(options)));
    const tasks = d.tasks.map((t) => ({
      ...taskOf(t),
      kind: t.kind,
      input: t.input,
      groupIndex: t.groupIndex,
      startedAt: ms(t.startedAtMs),
      endedAt: ms(t.endedAtMs),
    }));
    return {
      ...jobOf(d, tasks),
      createdAt: new Date(Number(d.createdAtMs)),
      startedAt: ms(d.startedAtMs),
      endedAt: ms(d.endedAtMs),
    };
  }

  /**
   * Every change of the job's state (its state, its group, or a task's state), the current
   * state first, until it is DONE or FAILED. The contract has no stream, so this polls, with
   * backoff from `minPollMs` (default 50) up to `maxPollMs` (default 1000, or `minPollMs` when
   * above it) while nothing changes.
   *
   * @throws {InvalidArgumentError} for a `minPollMs` not above 0 or a `maxPollMs` below it.
   */
  async *progress(
    options: { signal?: AbortSignal; minPollMs?: number; maxPollMs?: number } = {},
  ): AsyncGenerator<JobStatus, void, undefined> {
    const min = options.minPollMs ?? 50;
    const max = options.maxPollMs ?? Math.max(1000, min);
    // A 0 or negative delay would poll the server in a tight loop.
    if (!(Number.isFinite(min) && min > 0 && Number.isFinite(max) && max >= min))
      throw new InvalidArgumentError(
        `progress(): minPollMs must be a number of ms > 0 and maxPollMs one >= it, got ${String(min)} and ${String(max)}`,
      );
    let delay = min;
    let last = "";
    for (;;) {
      const s = await this.status(options.signal ? { signal: options.signal } : {});
      const key = JSON.stringify([s.state, s.currentGroup, s.tasks.map((t) => t.state)]);
      if (key !== last) {
        last = key;
        delay = min;
        yield s;
      } else {
        delay = Math.min(max, delay * 1.5);
      }
      if (TERMINAL.has(s.state)) return;
      await pause(delay, options.signal);
    }
  }

  /**
   * Waits until the job is DONE or FAILED and answers its final state (check `state`).
   *
   * @throws {DeadlineExceededError} when `timeoutMs` passes first.
   * @throws {CanceledError} when `signal` aborts.
   * @throws {InvalidArgumentError} when `timeoutMs` is not a number of ms >= 0 (0: no limit).
   */
  async wait(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JobStatus> {
    const { signal, exceeded } = deadline(options.timeoutMs, options.signal);
    let final: JobStatus | undefined;
    try {
      for await (const s of this.progress(signal ? { signal } : {})) final = s;
    } catch (err) {
      throw exceeded(err, `job ${this.id} did not finish within ${options.timeoutMs} ms`) ?? err;
    }
    if (!final) throw new DeadlineExceededError(`job ${this.id}: no state`);
    return final;
  }
}

/** What GetJob's and GetJobDetail's answers say of the job, with its `tasks`. */
function jobOf<T extends JobTask>(
  j: Pick<WireJobStatus, "jobId" | "state" | "finalResult" | "currentGroup" | "totalGroups">,
  tasks: T[],
): Omit<JobStatus, "tasks"> & { tasks: T[] } {
  return {
    id: j.jobId,
    state: j.state as JobState,
    tasks,
    finalResult: j.finalResult,
    currentGroup: j.currentGroup,
    totalGroups: j.totalGroups,
  };
}

/** What GetJob's and GetJobDetail's answers say of each task. */
function taskOf(
  t: Pick<TaskStatus, "taskId" | "assignedDeviceId" | "assignedDeviceName" | "state" | "result" | "error">,
): JobTask {
  return {
    taskId: t.taskId,
    deviceId: t.assignedDeviceId,
    deviceName: t.assignedDeviceName,
    state: t.state as JobState,
    result: t.result,
    error: t.error,
  };
}

/** The `jobs` resource of {@link EdgemeshClient}: distributed jobs. */
export class Jobs {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper) {
    this.#raw = raw;
    this.#session = session;
  }

  /**
   * Submits a job: its groups run in order, the tasks of a group in parallel, each on its
   * target device or one the server picks.
   *
   * @throws {InvalidArgumentError} for a bad plan (no tasks, duplicate ids, unknown reduce).
   * @throws {NotFoundError} when a task targets no live device.
   * @example
   * ```ts
   * const job = await mesh.jobs.submit({ text: "inventory", plan: new PlanBuilder().group({ kind: "SYSINFO" }).build() });
   * const done = await job.wait({ timeoutMs: 30_000 });
   * ```
   */
  async submit(input: SubmitJobInput, options: CallOptions = {}): Promise<JobHandle> {
    if (typeof input?.text !== "string") throw new InvalidArgumentError("submit() needs { text }");
    const res = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.submitJob(
          {
            sessionId,
            text: input.text,
            maxWorkers: input.maxWorkers ?? 0,
            ...(input.plan ? { plan: wirePlan(input.plan) } : {}),
            reduce: { kind: input.reduce ?? "CONCAT" },
          },
          connectCallOptions(options),
        ),
      ),
    );
    return new JobHandle(this.#raw, res.jobId);
  }

  /** A handle on a job. Makes no call. */
  getHandle(id: string): JobHandle {
    return new JobHandle(this.#raw, id);
  }
}
