import type { AgentService, StreamTaskResponse, Task, TaskResultSchema } from "@baton/wire/baaaht";
import { TaskState } from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { DuplexStream } from "./duplex.js";
import type { PushQueue } from "./push-queue.js";
import type { StreamSettings } from "./stream-settings.js";
import { classifyTaskUpdate, type TaskFrame, type TaskUpdate, taskHeartbeat } from "./task-update.js";

type AgentClient = Client<typeof AgentService>;

/** What `AgentTask.progress()` takes besides the fraction. */
export interface ProgressOptions {
  /** What is happening. */
  message?: string;
  /** Extra key/values for the caller. */
  details?: Record<string, string>;
}

/** What `AgentTask.output()` takes besides the data. */
export interface OutputOptions {
  /** `"stdout"` (default) or `"stderr"`. */
  streamType?: string;
}

/** What `AgentTask.fail()` takes besides the message. */
export interface FailOptions {
  /** A machine-readable error code. Default `"FAILED"`. */
  code?: string;
}

/**
 * A task routed to this agent, as the agent sees it. Report with `progress()`, `output()`,
 * then `complete()` or `fail()`; `signal` aborts when the caller cancels the task; `inputs`
 * yields data the caller streams in.
 */
export class AgentTask {
  /** The task as the server had it when it was routed (config, type, session). */
  readonly task: Task;
  /** Aborted when the task is cancelled (or the agent unregisters). */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #stream: DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate>;
  readonly #inputs: PushQueue<Uint8Array>;
  readonly #onDone: () => void;
  #done = false;

  /**
   * @internal Made by `AgentHandle` when a task arrives; `onDone` runs once, when the task
   * is completed, failed or aborted (the handle forgets it then).
   */
  constructor(
    raw: AgentClient,
    task: Task,
    settings: StreamSettings,
    inputs: PushQueue<Uint8Array>,
    onDone: () => void = () => {},
  ) {
    this.task = task;
    this.signal = this.#controller.signal;
    this.#inputs = inputs;
    this.#onDone = onDone;
    // Watch the task from the start, so a cancel is noticed even before the first report.
    const stream = new DuplexStream<TaskFrame, StreamTaskResponse, TaskUpdate>({
      open: (reqs, signal) => raw.streamTask(reqs, { signal }),
      heartbeat: () => taskHeartbeat(task.id),
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: (res) => classifyTaskUpdate(res.payload),
    });
    this.#stream = stream;
    // The agent's own stream echoes its reports; a cancel shows up as a CANCELLED status.
    void (async () => {
      try {
        for await (const u of stream) {
          if (u.kind === "status" && u.status.state === TaskState.CANCELLED) this.abort(u.status.message);
        }
      } catch {
        // A failed stream is reported by the next report's send.
      }
    })();
  }

  /** The task id. */
  get id(): string {
    return this.task.id;
  }

  /** The task's input data (TaskConfig.input_data). */
  get input(): Uint8Array {
    return this.task.config?.inputData ?? new Uint8Array();
  }

  /** Input the caller streams over StreamTask while the task runs. */
  get inputs(): AsyncIterable<Uint8Array> {
    return this.#inputs;
  }

  /**
   * @internal Called when the task is cancelled (or the agent unregisters): aborts `signal`,
   * ends `inputs` and closes the task's stream, so later reports fail with CanceledError.
   */
  abort(reason: string): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(new Error(reason));
    this.#stream.cancel();
    this.#settle();
  }

  #settle(): void {
    this.#inputs.close();
    if (this.#done) return;
    this.#done = true;
    this.#onDone();
  }

  /**
   * Reports progress, a fraction from 0 to 1.
   *
   * @throws {CanceledError} once the task's stream has ended.
   */
  async progress(percent: number, input: ProgressOptions = {}): Promise<void> {
    await this.#stream.send({
      taskId: this.id,
      payload: { case: "progress", value: { percent, message: input.message ?? "", details: input.details ?? {} } },
    });
  }

  /**
   * Streams output (text or bytes) to the caller.
   *
   * @throws {CanceledError} once the task's stream has ended.
   */
  async output(data: string | Uint8Array, input: OutputOptions = {}): Promise<void> {
    const streamType = input.streamType ?? "stdout";
    const value = typeof data === "string" ? { text: data, streamType } : { data, streamType };
    await this.#stream.send({ taskId: this.id, payload: { case: "output", value } });
  }

  /** Completes the task; resolves once the server has recorded it. */
  async complete(result: MessageInitShape<typeof TaskResultSchema> = {}): Promise<void> {
    await this.#finish({ taskId: this.id, payload: { case: "complete", value: { taskId: this.id, result } } });
  }

  /** Fails the task; resolves once the server has recorded it. */
  async fail(message: string, input: FailOptions = {}): Promise<void> {
    await this.#finish({
      taskId: this.id,
      payload: { case: "errorMsg", value: { code: input.code ?? "FAILED", message } },
    });
  }

  async #finish(frame: TaskFrame): Promise<void> {
    try {
      await this.#stream.send(frame);
      this.#stream.end();
      await this.#stream.done;
    } finally {
      this.#settle();
    }
  }
}
