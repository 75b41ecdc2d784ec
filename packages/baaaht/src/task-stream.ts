import type { StreamCallOptions } from "@baton/core";
import type { AgentService, StreamTaskResponse } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import { DuplexStream } from "./duplex.js";
import { resumeByPosition } from "./resume.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";
import { classifyTaskUpdate, type TaskFrame, type TaskUpdate, taskHeartbeat } from "./task-update.js";

type AgentClient = Client<typeof AgentService>;

/** What a stream that was cancelled before it reconnected yields. */
const nothing: AsyncIterable<never> = {
  [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }),
};

/** What cancelling a task takes. */
export interface CancelTaskOptions {
  /** Why (the agent is told). */
  reason?: string;
  /** Cancel even when the agent does not acknowledge. Default false. */
  force?: boolean;
}

/** What sending input to a task takes. */
export interface TaskInputOptions {
  /** Headers delivered to the agent with the data. */
  metadata?: Record<string, string>;
}

/**
 * The caller's side of StreamTask: every update of the task (replayed from its start, then
 * live) until it completes, fails or is cancelled; `sendInput()` streams input to the
 * agent, `cancelTask()` cancels the task, `break`/`cancel()` just stop watching. A dropped
 * connection is reopened (the server replays the task from its start) and the updates
 * already delivered are skipped: no loss, no duplicates. Iterating again replays the task
 * from its start.
 */
export class TaskStream implements AsyncIterable<TaskUpdate> {
  /** The task. */
  readonly taskId: string;
  readonly #open: () => DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate>;
  readonly #updates: AsyncIterable<TaskUpdate>;
  #current: DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate>;
  #unused: DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate> | undefined;
  #cancelled = false;

  /** @internal Use `TaskHandle.stream()`. */
  constructor(raw: AgentClient, taskId: string, settings: StreamSettings, options: StreamCallOptions) {
    this.taskId = taskId;
    this.#open = () =>
      new DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate>({
        open: (reqs, signal) => raw.streamTask(reqs, streamCall(options, signal)),
        heartbeat: () => taskHeartbeat(taskId),
        heartbeatMs: settings.heartbeatIntervalMs,
        classify: (res) => classifyTaskUpdate(res.payload),
      });
    // Opened now, so that input can be sent (and `ready` awaited) before iterating.
    this.#current = this.#open();
    this.#unused = this.#current;
    this.#updates = resumeByPosition(
      settings,
      (signal) => {
        if (this.#cancelled) return nothing;
        const duplex = this.#unused ?? this.#open();
        this.#unused = undefined;
        this.#current = duplex;
        signal.addEventListener("abort", () => duplex.cancel(), { once: true });
        return duplex;
      },
      options.signal,
    );
  }

  /** Resolves once the server attached the stream to the task; rejects when it refused (an unknown task). */
  get ready(): Promise<void> {
    return this.#current.ready;
  }

  /**
   * Sends input data to the agent running the task.
   *
   * @throws {CanceledError} once the stream has ended.
   */
  async sendInput(data: Uint8Array | string, input: TaskInputOptions = {}): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.#current.send({
      taskId: this.taskId,
      payload: { case: "input", value: { data: bytes, metadata: input.metadata ?? {} } },
    });
  }

  /** Cancels the task itself (the agent is told); the stream then ends with a CANCELLED status. */
  async cancelTask(input: CancelTaskOptions = {}): Promise<void> {
    await this.#current.send({
      taskId: this.taskId,
      payload: { case: "cancel", value: { reason: input.reason ?? "", force: input.force ?? false } },
    });
  }

  /** Stops watching (the task keeps running); the iteration ends quietly. Idempotent. */
  cancel(): void {
    this.#cancelled = true;
    this.#current.cancel();
  }

  /**
   * The task's updates, heartbeats hidden; `break` stops watching.
   *
   * @throws {NotFoundError} for an unknown task.
   * @throws {CanceledError} when `options.signal` aborted the stream.
   */
  [Symbol.asyncIterator](): AsyncIterator<TaskUpdate> {
    return this.#updates[Symbol.asyncIterator]();
  }
}
