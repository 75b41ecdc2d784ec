import { type CallOptions, callOrThrow, connectCallOptions, PagedList } from "@baton/core";
import {
  type AgentService,
  type Task,
  type TaskConfigSchema,
  TaskPriority,
  TaskState,
  TaskType,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { createdId, defined, type EnumInput, enumValue } from "./input.js";
import type { StreamSettings } from "./stream-settings.js";
import { TaskHandle } from "./task-handle.js";
import type { CancelTaskOptions } from "./task-stream.js";

type AgentClient = Client<typeof AgentService>;

/** What `tasks.execute()` takes. */
export interface ExecuteTaskInput {
  /** Task type (`"CODE_EXECUTION"`... or the enum value). */
  type: EnumInput<typeof TaskType>;
  /** Run it on this agent; default: the server routes it to an agent supporting the type. */
  agentId?: string;
  /** The session it belongs to. */
  sessionId?: string;
  /** Command, arguments, input data, timeout... */
  config?: MessageInitShape<typeof TaskConfigSchema>;
  /** Priority (`"HIGH"`... or the enum value). */
  priority?: EnumInput<typeof TaskPriority>;
}

/** Filters of `tasks.list()`; unset fields match everything. */
export interface ListTasksInput {
  /** Only tasks of this agent. */
  agentId?: string;
  /** Only tasks in this state (`"COMPLETED"`... or the enum value). */
  state?: EnumInput<typeof TaskState>;
  /** Only tasks of this type. */
  type?: EnumInput<typeof TaskType>;
  /** Only tasks of this session. */
  sessionId?: string;
}

/** Fetches the tasks matching a filter: `tasks.list()` and `AgentHandle.tasks()`. */
export function listTasks(raw: AgentClient, filter: ListTasksInput, options: CallOptions): PagedList<Task> {
  return PagedList.single(async () => {
    const state = enumValue(TaskState, filter.state, "task state");
    const type = enumValue(TaskType, filter.type, "task type");
    const res = await callOrThrow(() =>
      raw.listTasks(
        { ...defined({ agentId: filter.agentId }), filter: defined({ state, type, sessionId: filter.sessionId }) },
        connectCallOptions(options),
      ),
    );
    return res.tasks;
  });
}

/**
 * The `tasks` resource, for callers: `execute()` runs a task on an agent and returns a
 * {@link TaskHandle}; `get`, `list` and `cancel` work by id; `getHandle(id)` makes a
 * handle without a call. (Agents receive their tasks through `AgentHandle`.)
 */
export class Tasks {
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: AgentClient, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Runs a task on an agent supporting its type; returns its handle.
   *
   * @throws {InvalidArgumentError} for an unknown type or priority name.
   * @throws {FailedPreconditionError} when no healthy agent supports the type.
   * @throws {NotFoundError} for an unknown agent or session.
   * @throws {ProtocolError} when the server's answer has no task id.
   */
  async execute(input: ExecuteTaskInput, options: CallOptions = {}): Promise<TaskHandle> {
    const type = enumValue(TaskType, input.type, "task type") ?? TaskType.UNSPECIFIED;
    const priority = enumValue(TaskPriority, input.priority, "task priority");
    const res = await callOrThrow(() =>
      this.#raw.executeTask(
        { type, ...defined({ agentId: input.agentId, sessionId: input.sessionId, config: input.config, priority }) },
        connectCallOptions(options),
      ),
    );
    return this.getHandle(createdId(res.taskId, res.task, "task id"));
  }

  /**
   * The task's current state, progress, result or error.
   *
   * @throws {NotFoundError} for an unknown task.
   */
  get(taskId: string, options: CallOptions = {}): Promise<Task> {
    return this.getHandle(taskId).get(options);
  }

  /**
   * Lists tasks matching the filter (the server answers every match in one page).
   *
   * @throws {InvalidArgumentError} for an unknown state or type name, on the first await or iteration.
   */
  list(filter: ListTasksInput = {}, options: CallOptions = {}): PagedList<Task> {
    return listTasks(this.#raw, filter, options);
  }

  /** Cancels a task; see {@link TaskHandle.cancel}. */
  cancel(taskId: string, input: CancelTaskOptions = {}, options: CallOptions = {}): Promise<boolean> {
    return this.getHandle(taskId).cancel(input, options);
  }

  /** A handle on a task by id; makes no call (an unknown id fails on first use). */
  getHandle(taskId: string): TaskHandle {
    return new TaskHandle(this.#raw, taskId, this.#settings);
  }
}
