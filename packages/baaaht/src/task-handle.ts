import { type CallOptions, callOrThrow, connectCallOptions, required, type StreamCallOptions } from "@baton/core";
import type { AgentService, Task } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import type { StreamSettings } from "./stream-settings.js";
import { type CancelTaskOptions, TaskStream } from "./task-stream.js";

type AgentClient = Client<typeof AgentService>;

/**
 * A handle on one task, as its caller sees it: `tasks.execute()` returns one,
 * `tasks.getHandle(id)` makes one for an id without a call.
 */
export class TaskHandle {
  /** The task id. */
  readonly id: string;
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;

  /** @internal Use `tasks.execute()` or `tasks.getHandle()`. */
  constructor(raw: AgentClient, id: string, settings: StreamSettings) {
    this.#raw = raw;
    this.id = id;
    this.#settings = settings;
  }

  /**
   * The task's current state, progress, result or error (GetTaskStatus).
   *
   * @throws {NotFoundError} for an unknown task.
   * @throws {ProtocolError} when the server's answer has no task.
   */
  async get(options: CallOptions = {}): Promise<Task> {
    const res = await callOrThrow(() => this.#raw.getTaskStatus({ taskId: this.id }, connectCallOptions(options)));
    return required(res.task, "task");
  }

  /** Cancels the task (the agent is told); returns whether it was cancelled (false when it had already ended). */
  async cancel(input: CancelTaskOptions = {}, options: CallOptions = {}): Promise<boolean> {
    const res = await callOrThrow(() =>
      this.#raw.cancelTask(
        { taskId: this.id, reason: input.reason ?? "", force: input.force ?? false },
        connectCallOptions(options),
      ),
    );
    return res.cancelled;
  }

  /** Follows the task over StreamTask (see {@link TaskStream}). */
  stream(options: StreamCallOptions = {}): TaskStream {
    return new TaskStream(this.#raw, this.id, this.#settings, options);
  }
}
