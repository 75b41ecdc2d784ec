import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import {
  type Agent,
  type AgentCapabilitiesSchema,
  type AgentMessage,
  type AgentMetadataSchema,
  type AgentService,
  AgentType,
  ControlCommand,
  MessageType,
  type StreamAgentRequestSchema,
  type StreamAgentResponse,
  type StreamTaskRequestSchema,
  type StreamTaskResponse,
  type Task,
  type TaskComplete,
  type TaskConfigSchema,
  type TaskError,
  type TaskOutput,
  type TaskPriority,
  type TaskProgress,
  type TaskResultSchema,
  TaskState,
  type TaskStatusUpdate,
  TaskType,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { DuplexStream } from "./duplex.js";
import { PushQueue } from "./push-queue.js";
import type { StreamSettings } from "./shared.js";

type AgentClient = Client<typeof AgentService>;

/** What `agents.register()` takes. */
export interface RegisterAgentInput {
  /** Unique name among registered agents. */
  name: string;
  /** Kind of agent (`"WORKER"`... or the enum value). Default WORKER. */
  type?: AgentType | keyof typeof AgentType;
  /** Version, hostname, labels... */
  metadata?: MessageInitShape<typeof AgentMetadataSchema>;
  /** Supported task types (`code-execution`, `chat`...), concurrency, streaming. */
  capabilities?: MessageInitShape<typeof AgentCapabilitiesSchema>;
  /** Heartbeat period in ms. Default: the client's heartbeat interval. */
  heartbeatIntervalMs?: number;
}

/** What `agents.executeTask()` takes. */
export interface ExecuteTaskInput {
  /** Task type (`"CODE_EXECUTION"`... or the enum value). */
  type: TaskType | keyof typeof TaskType;
  /** Run it on this agent; default: the server routes it to an agent supporting the type. */
  agentId?: string;
  /** The session it belongs to. */
  sessionId?: string;
  /** Command, arguments, input data, timeout... */
  config?: MessageInitShape<typeof TaskConfigSchema>;
  /** Priority. */
  priority?: TaskPriority;
}

/** Filters of `agents.listTasks()`. */
export interface ListTasksInput {
  /** Only tasks of this agent. */
  agentId?: string;
  /** Only tasks in this state. */
  state?: TaskState | keyof typeof TaskState;
  /** Only tasks of this type. */
  type?: TaskType | keyof typeof TaskType;
  /** Only tasks of this session. */
  sessionId?: string;
}

/** An update of a task, as the caller's {@link TaskStream} yields it. */
export type TaskUpdate =
  | { kind: "output"; output: TaskOutput }
  | { kind: "progress"; progress: TaskProgress }
  | { kind: "status"; status: TaskStatusUpdate }
  | { kind: "complete"; complete: TaskComplete }
  | { kind: "error"; error: TaskError };

type TaskReq = MessageInitShape<typeof StreamTaskRequestSchema>;

function enumValue<E extends Record<string, string | number>>(
  e: E,
  v: E[keyof E] | keyof E | undefined,
): number | undefined {
  if (v === undefined) return undefined;
  return (typeof v === "string" ? e[v] : v) as number;
}

function classifyTask(res: StreamTaskResponse): { item: TaskUpdate } | "heartbeat" | undefined {
  const p = res.payload;
  switch (p.case) {
    case "heartbeat":
      return "heartbeat";
    case "output":
      return { item: { kind: "output", output: p.value } };
    case "progress":
      return { item: { kind: "progress", progress: p.value } };
    case "status":
      return { item: { kind: "status", status: p.value } };
    case "complete":
      return { item: { kind: "complete", complete: p.value } };
    case "error":
      return { item: { kind: "error", error: p.value } };
    default:
      return undefined;
  }
}

/**
 * The caller's side of StreamTask: every update of the task (replayed from its start, then
 * live) until it completes, fails or is cancelled; `sendInput()` streams input to the
 * agent, `cancelTask()` cancels the task, `break`/`cancel()` just stop watching.
 */
export class TaskStream implements AsyncIterable<TaskUpdate> {
  /** The task. */
  readonly taskId: string;
  readonly #duplex: DuplexStream<TaskReq, StreamTaskResponse, TaskUpdate>;

  /** @internal Use `agents.streamTask()`. */
  constructor(raw: AgentClient, taskId: string, settings: StreamSettings, signal?: AbortSignal) {
    this.taskId = taskId;
    const heartbeat = (): TaskReq => ({ taskId, payload: { case: "heartbeat", value: {} } });
    this.#duplex = new DuplexStream<TaskReq, StreamTaskResponse, TaskUpdate>({
      open: (reqs, sig) => raw.streamTask(reqs, { signal: sig }),
      first: heartbeat(),
      heartbeat,
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: classifyTask,
      ...(signal ? { signal } : {}),
    });
  }

  /** Resolves once the server attached the stream to the task. */
  get ready(): Promise<void> {
    return this.#duplex.ready;
  }

  /** Sends input data to the agent running the task. */
  sendInput(data: Uint8Array | string, metadata: Record<string, string> = {}): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    return this.#duplex.send({ taskId: this.taskId, payload: { case: "input", value: { data: bytes, metadata } } });
  }

  /** Cancels the task itself (the agent is told); the stream then ends with a CANCELLED status. */
  cancelTask(reason = "", force = false): Promise<void> {
    return this.#duplex.send({ taskId: this.taskId, payload: { case: "cancel", value: { reason, force } } });
  }

  /** Stops watching (the task keeps running). */
  cancel(): void {
    this.#duplex.cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<TaskUpdate> {
    return this.#duplex[Symbol.asyncIterator]();
  }
}

/**
 * A task routed to this agent. Report with `progress()`, `output()`, then `complete()` or
 * `fail()`; `signal` aborts when the caller cancels the task; `inputs` yields data the
 * caller streams in.
 */
export class AgentTask {
  /** The task as the server had it when it was routed (config, type, session). */
  readonly task: Task;
  /** Aborted when the task is cancelled (or times out). */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;
  #stream: DuplexStream<TaskReq, StreamTaskResponse, TaskUpdate> | undefined;
  readonly #inputs: PushQueue<Uint8Array>;

  /** @internal */
  constructor(raw: AgentClient, task: Task, settings: StreamSettings, inputs: PushQueue<Uint8Array>) {
    this.#raw = raw;
    this.task = task;
    this.#settings = settings;
    this.signal = this.#controller.signal;
    this.#inputs = inputs;
    // Watch the task from the start, so a cancel is noticed even before the first report.
    this.#open();
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

  /** @internal Called when a CANCEL control message arrives. */
  abort(reason: string): void {
    this.#controller.abort(new Error(reason));
    this.#inputs.close();
  }

  #open(): DuplexStream<TaskReq, StreamTaskResponse, TaskUpdate> {
    if (!this.#stream) {
      const taskId = this.task.id;
      const heartbeat = (): TaskReq => ({ taskId, payload: { case: "heartbeat", value: {} } });
      const stream = new DuplexStream<TaskReq, StreamTaskResponse, TaskUpdate>({
        open: (reqs, sig) => this.#raw.streamTask(reqs, { signal: sig }),
        first: heartbeat(),
        heartbeat,
        heartbeatMs: this.#settings.heartbeatIntervalMs,
        classify: classifyTask,
      });
      this.#stream = stream;
      // The agent's own stream echoes its reports; a cancel shows up as a CANCELLED status.
      void (async () => {
        try {
          for await (const u of stream) {
            if (u.kind === "status" && u.status.state === TaskState.CANCELLED) this.abort(u.status.message);
          }
        } catch {
          // Reported through the next send.
        }
      })();
    }
    return this.#stream;
  }

  /** Reports progress (0..1). */
  progress(percent: number, message = "", details: Record<string, string> = {}): Promise<void> {
    return this.#open().send({
      taskId: this.task.id,
      payload: { case: "progress", value: { percent, message, details } },
    });
  }

  /** Streams output (text or bytes) to the caller. */
  output(data: string | Uint8Array, streamType = "stdout"): Promise<void> {
    const value = typeof data === "string" ? { text: data, streamType } : { data, streamType };
    return this.#open().send({ taskId: this.task.id, payload: { case: "output", value } });
  }

  /** Completes the task; resolves once the server has recorded it. */
  async complete(result: MessageInitShape<typeof TaskResultSchema> = {}): Promise<void> {
    const stream = this.#open();
    await stream.send({ taskId: this.task.id, payload: { case: "complete", value: { taskId: this.task.id, result } } });
    stream.end();
    await stream.done;
    this.#inputs.close();
  }

  /** Fails the task; resolves once the server has recorded it. */
  async fail(message: string, code = "FAILED"): Promise<void> {
    const stream = this.#open();
    await stream.send({ taskId: this.task.id, payload: { case: "errorMsg", value: { code, message } } });
    stream.end();
    await stream.done;
    this.#inputs.close();
  }
}

/** A gateway chat message routed to this agent; answer it with `reply()`. */
export class ChatRequest {
  /** The gateway session. */
  readonly sessionId: string;
  /** The user message id. */
  readonly messageId: string;
  /** What the user wrote. */
  readonly content: string;
  /** Aborted when the user cancels the reply. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #raw: AgentClient;
  readonly #agentId: string;

  /** @internal */
  constructor(raw: AgentClient, agentId: string, sessionId: string, messageId: string, content: string) {
    this.#raw = raw;
    this.#agentId = agentId;
    this.sessionId = sessionId;
    this.messageId = messageId;
    this.content = content;
    this.signal = this.#controller.signal;
  }

  /** @internal */
  abort(reason: string): void {
    this.#controller.abort(new Error(reason));
  }

  /** Sends one chunk of the reply; `final` ends it. Chunks reach the user in call order. */
  async reply(text: string, options: { final?: boolean } = {}): Promise<void> {
    await callOrThrow(() =>
      this.#raw.sendMessage({
        agentId: this.#agentId,
        message: {
          type: MessageType.DATA,
          sourceId: this.#agentId,
          payload: {
            case: "dataMessage",
            value: {
              contentType: "text/plain",
              data: new TextEncoder().encode(text),
              headers: { in_reply_to: this.messageId, final: String(options.final ?? false) },
            },
          },
          metadata: { correlationId: this.messageId, sessionId: this.sessionId },
        },
      }),
    );
  }
}

/** What an agent receives: tasks, gateway chat messages, and any other message. */
export type AgentInbound =
  | { kind: "task"; task: AgentTask }
  | { kind: "chat"; chat: ChatRequest }
  | { kind: "message"; message: AgentMessage };

/**
 * A registered agent. It heartbeats until {@link AgentHandle.unregister}; `for await` it
 * to receive the tasks and messages routed to it (over StreamAgent).
 */
export class AgentHandle implements AsyncIterable<AgentInbound> {
  /** The agent id. */
  readonly id: string;
  /** The agent as registered. */
  readonly agent: Agent;
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;
  readonly #timer: NodeJS.Timeout;
  readonly #stream: DuplexStream<MessageInitShape<typeof StreamAgentRequestSchema>, StreamAgentResponse, AgentMessage>;
  readonly #tasks = new Map<string, AgentTask>();
  readonly #inputs = new Map<string, PushQueue<Uint8Array>>();
  readonly #chats = new Map<string, ChatRequest>();
  readonly #inbox = new PushQueue<AgentInbound>({ capacity: 1024 });
  #heartbeats = 0;
  #closed = false;

  /** @internal Use `agents.register()`. */
  constructor(raw: AgentClient, agent: Agent, settings: StreamSettings, heartbeatMs: number) {
    this.#raw = raw;
    this.agent = agent;
    this.id = agent.id;
    this.#settings = settings;
    const id = agent.id;
    const heartbeat = () => ({ agentId: id, payload: { case: "heartbeat" as const, value: {} } });
    this.#stream = new DuplexStream({
      open: (reqs, signal) => raw.streamAgent(reqs, { signal }),
      first: heartbeat(),
      heartbeat,
      heartbeatMs,
      classify: (res) => {
        if (res.payload.case === "heartbeat") return "heartbeat";
        if (res.payload.case === "message") return { item: res.payload.value };
        return undefined;
      },
    });
    this.#timer = setInterval(() => {
      void this.heartbeat().catch(() => {});
    }, heartbeatMs);
    this.#timer.unref();
    void this.#pump();
  }

  /** Reads StreamAgent all the time, so cancels and task inputs apply while tasks run. */
  async #pump(): Promise<void> {
    try {
      for await (const msg of this.#stream) {
        const inbound = await this.#toInbound(msg);
        if (inbound && !(await this.#inbox.push(inbound))) break;
      }
      this.#inbox.close();
    } catch (err) {
      this.#inbox.close(err);
    }
  }

  /** Heartbeats sent by the timer or explicitly. */
  get heartbeats(): number {
    return this.#heartbeats;
  }

  /** Resolves once the server has attached this agent's stream. */
  get ready(): Promise<void> {
    return this.#stream.ready;
  }

  /** Sends one heartbeat now; returns the ids of tasks queued for this agent. */
  async heartbeat(options: CallOptions = {}): Promise<string[]> {
    const res = await callOrThrow(() => this.#raw.heartbeat({ agentId: this.id }, connectCallOptions(options)));
    this.#heartbeats++;
    return res.pendingTasks;
  }

  /** Stops heartbeating and unregisters. Idempotent. */
  async unregister(reason = "", options: CallOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#stream.cancel();
    this.#inbox.close();
    for (const t of this.#tasks.values()) t.abort("agent unregistered");
    await callOrThrow(() => this.#raw.unregister({ agentId: this.id, reason }, connectCallOptions(options)));
  }

  #inputsOf(taskId: string): PushQueue<Uint8Array> {
    let q = this.#inputs.get(taskId);
    if (!q) {
      q = new PushQueue<Uint8Array>({ capacity: 256 });
      this.#inputs.set(taskId, q);
    }
    return q;
  }

  async #toInbound(msg: AgentMessage): Promise<AgentInbound | undefined> {
    const p = msg.payload;
    if (p.case === "taskMessage" && msg.type === MessageType.TASK_REQUEST) {
      const res = await callOrThrow(() => this.#raw.getTaskStatus({ taskId: p.value.taskId }));
      if (!res.task) return undefined;
      const task = new AgentTask(this.#raw, res.task, this.#settings, this.#inputsOf(res.task.id));
      this.#tasks.set(res.task.id, task);
      return { kind: "task", task };
    }
    if (p.case === "controlMessage" && p.value.command === ControlCommand.CANCEL) {
      const taskId = p.value.parameters.task_id;
      const messageId = p.value.parameters.message_id;
      if (taskId) this.#tasks.get(taskId)?.abort(p.value.parameters.reason ?? "cancelled");
      if (messageId) this.#chats.get(messageId)?.abort(p.value.parameters.reason ?? "cancelled");
    }
    if (p.case === "dataMessage") {
      const h = p.value.headers;
      if (h.task_id) {
        this.#inputsOf(h.task_id).tryPush(p.value.data);
        return undefined;
      }
      if (h.message_id && h.gateway_session_id) {
        const chat = new ChatRequest(
          this.#raw,
          this.id,
          h.gateway_session_id,
          h.message_id,
          new TextDecoder().decode(p.value.data),
        );
        this.#chats.set(chat.messageId, chat);
        if (this.#chats.size > 1000) this.#chats.delete(this.#chats.keys().next().value as string);
        return { kind: "chat", chat };
      }
    }
    return { kind: "message", message: msg };
  }

  /**
   * The tasks and messages routed to this agent. Leaving a loop early does not stop the
   * agent: iterate again to continue; the iteration ends after `unregister()`.
   *
   * @throws {BatonError} when the agent's stream fails.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<AgentInbound> {
    for (;;) {
      const next = await this.#inbox.shift();
      if (!next) return;
      yield next.value;
    }
  }
}

/** The `agents` resource: register agents, and run and follow tasks as a caller. */
export class Agents {
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: AgentClient, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Registers an agent and returns its handle, which heartbeats until `unregister()`.
   *
   * @throws {AlreadyExistsError} when an agent with that name is registered.
   * @throws {InvalidArgumentError} without a name.
   */
  async register(input: RegisterAgentInput, options: CallOptions = {}): Promise<AgentHandle> {
    const type = enumValue(AgentType, input.type) ?? AgentType.WORKER;
    const res = await callOrThrow(() =>
      this.#raw.register(
        {
          name: input.name,
          type,
          ...(input.metadata ? { metadata: input.metadata } : {}),
          ...(input.capabilities ? { capabilities: input.capabilities } : {}),
        },
        connectCallOptions(options),
      ),
    );
    if (!res.agent) throw new InvalidArgumentError("the server returned no agent");
    const handle = new AgentHandle(
      this.#raw,
      res.agent,
      this.#settings,
      input.heartbeatIntervalMs ?? this.#settings.heartbeatIntervalMs,
    );
    await handle.ready;
    return handle;
  }

  /**
   * Runs a task on an agent supporting its type.
   *
   * @throws {FailedPreconditionError} when no healthy agent supports the type.
   * @throws {NotFoundError} for an unknown agent or session.
   */
  async executeTask(input: ExecuteTaskInput, options: CallOptions = {}): Promise<Task> {
    const type = enumValue(TaskType, input.type) ?? TaskType.UNSPECIFIED;
    const res = await callOrThrow(() =>
      this.#raw.executeTask(
        {
          type,
          ...(input.agentId ? { agentId: input.agentId } : {}),
          ...(input.sessionId ? { sessionId: input.sessionId } : {}),
          ...(input.config ? { config: input.config } : {}),
          ...(input.priority !== undefined ? { priority: input.priority } : {}),
        },
        connectCallOptions(options),
      ),
    );
    if (!res.task) throw new InvalidArgumentError("the server returned no task");
    return res.task;
  }

  /** Cancels a task; returns whether it was cancelled (false when it had already ended). */
  async cancelTask(taskId: string, reason = "", options: CallOptions = {}): Promise<boolean> {
    const res = await callOrThrow(() => this.#raw.cancelTask({ taskId, reason }, connectCallOptions(options)));
    return res.cancelled;
  }

  /** Lists tasks matching the filter. */
  async listTasks(filter: ListTasksInput = {}, options: CallOptions = {}): Promise<Task[]> {
    const state = enumValue(TaskState, filter.state);
    const type = enumValue(TaskType, filter.type);
    const res = await callOrThrow(() =>
      this.#raw.listTasks(
        {
          ...(filter.agentId ? { agentId: filter.agentId } : {}),
          filter: {
            ...(state !== undefined ? { state } : {}),
            ...(type !== undefined ? { type } : {}),
            ...(filter.sessionId ? { sessionId: filter.sessionId } : {}),
          },
        },
        connectCallOptions(options),
      ),
    );
    return res.tasks;
  }

  /**
   * The task's current state, progress, result or error.
   *
   * @throws {NotFoundError} for an unknown task.
   */
  async getTaskStatus(taskId: string, options: CallOptions = {}): Promise<Task> {
    const res = await callOrThrow(() => this.#raw.getTaskStatus({ taskId }, connectCallOptions(options)));
    if (!res.task) throw new InvalidArgumentError("the server returned no task");
    return res.task;
  }

  /** Follows a task over StreamTask (see {@link TaskStream}). */
  streamTask(taskId: string, options: { signal?: AbortSignal } = {}): TaskStream {
    return new TaskStream(this.#raw, taskId, this.#settings, options.signal);
  }
}
