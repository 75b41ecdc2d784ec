import {
  type AgentMessage,
  AgentSchema,
  type AgentSendMessageRequest,
  type AgentService,
  AgentState,
  AgentType,
  type CancelTaskRequest,
  ControlCommand,
  EventType,
  type ExecuteTaskRequest,
  type GetTaskStatusRequest,
  type HeartbeatRequest,
  type ListTasksRequest,
  MessageType,
  type RegisterRequest,
  Status,
  type StreamAgentRequest,
  type StreamAgentResponse,
  type StreamTaskRequest,
  type StreamTaskResponse,
  type Task,
  TaskSchema,
  TaskState,
  TaskType,
  type UnregisterRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { serveBidi } from "./bidi.js";
import { SeqLog } from "./log.js";
import { type BaaahtState, invalid, notFound, precondition } from "./state.js";
import type { AgentRecord, TaskRecord } from "./store.js";

const TERMINAL = new Set([TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED, TaskState.TIMEOUT]);

/** The name an agent lists in `supported_tasks` for a task type: `code-execution` etc. */
export function taskTypeName(type: TaskType): string {
  return (TaskType[type] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}

/** Whether an agent's `supported_tasks` covers a task type (`*` covers every type). */
export function supportsTask(supported: readonly string[], type: TaskType): boolean {
  const name = taskTypeName(type);
  return supported.some((s) => s === "*" || s.toLowerCase().replaceAll("_", "-") === name);
}

/** Something that wants to hear what agents send (the gateway listens for chat replies). */
export type AgentMessageListener = (agentId: string, msg: AgentMessage) => boolean;

const taskHeartbeat = (): StreamTaskResponse => ({
  $typeName: "agent.v1.StreamTaskResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});
const agentHeartbeat = (): StreamAgentResponse => ({
  $typeName: "agent.v1.StreamAgentResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/**
 * The rules of `agent.v1.AgentService`. Agents register, heartbeat (a missed window marks
 * them unhealthy, two offline: no more routing, their running tasks fail) and unregister.
 * ExecuteTask routes a task to a healthy agent that lists its type in `supported_tasks`;
 * the agent receives it over StreamAgent (a TASK_REQUEST message), reports progress,
 * output and completion over StreamTask (or TASK_UPDATE messages), and the caller follows
 * it over StreamTask and GetTaskStatus. CancelTask reaches the agent as a CANCEL control
 * message and ends every StreamTask of the task.
 */
export class AgentRules {
  readonly #s: BaaahtState;
  readonly #taskLogs = new Map<string, SeqLog<StreamTaskResponse>>();
  readonly #listeners: AgentMessageListener[] = [];

  constructor(state: BaaahtState) {
    this.#s = state;
    const timeout = state.settings.agentHeartbeatTimeoutMs;
    state.every(Math.max(10, Math.floor(timeout / 4)), () => this.checkLiveness());
  }

  /** Adds a listener for messages agents send (SendMessage and StreamAgent). */
  onAgentMessage(listener: AgentMessageListener): void {
    this.#listeners.push(listener);
  }

  /** The connect-es implementation. */
  impl(): ServiceImpl<typeof AgentService> {
    return {
      register: (req) => this.register(req),
      unregister: (req) => this.unregister(req),
      heartbeat: (req) => this.heartbeat(req),
      executeTask: (req) => this.executeTask(req),
      streamTask: (reqs, ctx) => this.streamTask(reqs, ctx),
      cancelTask: (req) => this.cancelTask(req),
      listTasks: (req) => this.listTasks(req),
      getTaskStatus: (req) => this.getTaskStatus(req),
      streamAgent: (reqs, ctx) => this.streamAgent(reqs, ctx),
      sendMessage: (req) => this.sendMessage(req),
      healthCheck: () => ({
        status: Status.RUNNING,
        version: "baton-server/baaaht 0.1.0",
        subsystems: ["agents", "tasks"],
      }),
      getStatus: () => {
        const active = [...this.#s.store.tasks.values()].filter((t) => !TERMINAL.has(t.task.state)).length;
        return {
          status: Status.RUNNING,
          state: active > 0 ? AgentState.BUSY : AgentState.IDLE,
          activeTasks: active,
          startedAt: timestampFromMs(this.#s.startedAtMs),
          uptime: timestampFromMs(this.#s.now() - this.#s.startedAtMs),
        };
      },
      getCapabilities: () => {
        const tasks = new Set<string>();
        for (const a of this.#s.store.agents.values())
          if (a.liveness !== "offline") for (const t of a.agent.capabilities?.supportedTasks ?? []) tasks.add(t);
        return {
          capabilities: {
            supportedTasks: [...tasks].sort(),
            supportsStreaming: true,
            supportsCancellation: true,
            supportedProtocols: ["grpc", "connect", "grpc-web"],
          },
        };
      },
    };
  }

  register(req: RegisterRequest) {
    if (!req.name) throw invalid("name is required");
    if (req.type === AgentType.UNSPECIFIED) throw invalid("type is required");
    for (const a of this.#s.store.agents.values()) {
      if (a.agent.name === req.name && a.liveness !== "offline") {
        throw new ConnectError(`an agent named ${req.name} is already registered (${a.agent.id})`, Code.AlreadyExists);
      }
    }
    const now = this.#s.now();
    const id = this.#s.id("agent");
    const agent = create(AgentSchema, {
      id,
      name: req.name,
      type: req.type,
      state: AgentState.IDLE,
      status: Status.RUNNING,
      registeredAt: timestampFromMs(now),
      lastHeartbeat: timestampFromMs(now),
      ...(req.metadata ? { metadata: req.metadata } : {}),
      ...(req.capabilities ? { capabilities: req.capabilities } : {}),
    });
    this.#s.store.agents.set(id, { agent, lastHeartbeatMs: now, liveness: "healthy" });
    this.#s.agentInbox(id);
    this.#s.emit(EventType.IPC_MESSAGE, {
      source: "agent",
      data: { agent_id: id, name: req.name, action: "registered" },
    });
    return { agentId: id, agent, registrationToken: this.#s.id("regtok") };
  }

  #agent(id: string): AgentRecord {
    if (!id) throw invalid("agent_id is required");
    const rec = this.#s.store.agents.get(id);
    if (!rec) throw notFound(`agent ${id} not found`);
    return rec;
  }

  unregister(req: UnregisterRequest) {
    const rec = this.#agent(req.agentId);
    this.#goOffline(rec, req.reason || "unregistered");
    this.#s.store.agents.delete(rec.agent.id);
    this.#s.agentInboxes.get(rec.agent.id)?.log.close();
    this.#s.agentInboxes.delete(rec.agent.id);
    this.#s.emit(EventType.IPC_MESSAGE, {
      source: "agent",
      data: { agent_id: rec.agent.id, action: "unregistered", reason: req.reason },
    });
    return { success: true, message: `agent ${rec.agent.id} unregistered` };
  }

  /** Records a heartbeat; an unhealthy or offline agent becomes healthy again. */
  heartbeat(req: HeartbeatRequest) {
    const rec = this.#agent(req.agentId);
    this.#beat(rec);
    if (req.resources) rec.agent.resources = req.resources;
    const pending = [...this.#s.store.tasks.values()]
      .filter((t) => t.task.agentId === rec.agent.id && t.task.state === TaskState.QUEUED)
      .map((t) => t.task.id);
    return { timestamp: timestampFromMs(this.#s.now()), pendingTasks: pending };
  }

  #beat(rec: AgentRecord): void {
    rec.lastHeartbeatMs = this.#s.now();
    rec.agent.lastHeartbeat = timestampFromMs(rec.lastHeartbeatMs);
    if (rec.liveness !== "healthy") {
      rec.liveness = "healthy";
      rec.agent.status = Status.RUNNING;
      this.#updateAgentState(rec);
    }
  }

  /** Marks agents that missed heartbeats unhealthy (one window) or offline (two). */
  checkLiveness(): void {
    const now = this.#s.now();
    const window = this.#s.settings.agentHeartbeatTimeoutMs;
    for (const rec of this.#s.store.agents.values()) {
      const silent = now - rec.lastHeartbeatMs;
      if (silent > 2 * window && rec.liveness !== "offline") {
        this.#goOffline(rec, "missed heartbeats");
      } else if (silent > window && rec.liveness === "healthy") {
        rec.liveness = "unhealthy";
        rec.agent.status = Status.ERROR;
      }
    }
  }

  #goOffline(rec: AgentRecord, reason: string): void {
    rec.liveness = "offline";
    rec.agent.state = AgentState.TERMINATED;
    rec.agent.status = Status.STOPPED;
    for (const t of this.#s.store.tasks.values()) {
      if (t.task.agentId === rec.agent.id && !TERMINAL.has(t.task.state)) {
        this.#finish(t, TaskState.FAILED, { error: { code: "AGENT_OFFLINE", message: `agent ${reason}` } });
      }
    }
  }

  #updateAgentState(rec: AgentRecord): void {
    if (rec.liveness === "offline") return;
    const active = [...this.#s.store.tasks.values()]
      .filter((t) => t.task.agentId === rec.agent.id && !TERMINAL.has(t.task.state))
      .map((t) => t.task.id);
    rec.agent.activeTasks = active;
    rec.agent.state = active.length > 0 ? AgentState.BUSY : AgentState.IDLE;
  }

  /** Picks the agent for a task: the named one, or the least busy healthy one supporting the type. */
  #route(req: ExecuteTaskRequest): AgentRecord {
    if (req.agentId) {
      const rec = this.#agent(req.agentId);
      if (rec.liveness === "offline") throw precondition(`agent ${req.agentId} is offline`);
      if (!supportsTask(rec.agent.capabilities?.supportedTasks ?? [], req.type)) {
        throw precondition(`agent ${req.agentId} does not support task type ${taskTypeName(req.type)}`);
      }
      return rec;
    }
    const candidates = [...this.#s.store.agents.values()]
      .filter((a) => a.liveness === "healthy" && supportsTask(a.agent.capabilities?.supportedTasks ?? [], req.type))
      .filter((a) => {
        const max = a.agent.capabilities?.maxConcurrentTasks ?? 0;
        return max <= 0 || a.agent.activeTasks.length < max;
      })
      .sort((a, b) => a.agent.activeTasks.length - b.agent.activeTasks.length);
    const best = candidates[0];
    if (!best) {
      throw precondition(`no healthy registered agent with free capacity supports task type ${taskTypeName(req.type)}`);
    }
    return best;
  }

  executeTask(req: ExecuteTaskRequest) {
    if (req.type === TaskType.UNSPECIFIED) throw invalid("type is required");
    if (req.sessionId) {
      const session = this.#s.store.sessions.get(req.sessionId);
      if (!session) throw notFound(`session ${req.sessionId} not found`);
    }
    const agent = this.#route(req);
    const now = this.#s.now();
    const id = this.#s.id("task");
    const timeoutMs = req.config && req.config.timeoutNs > 0n ? Number(req.config.timeoutNs / 1_000_000n) : 0;
    const task = create(TaskSchema, {
      id,
      name: req.config?.command || taskTypeName(req.type),
      sessionId: req.sessionId,
      type: req.type,
      state: TaskState.QUEUED,
      priority: req.priority,
      createdAt: timestampFromMs(now),
      ...(timeoutMs ? { expiresAt: timestampFromMs(now + timeoutMs) } : {}),
      ...(req.config ? { config: req.config } : {}),
      agentId: agent.agent.id,
    });
    const rec: TaskRecord = { task, inputs: [] };
    this.#s.store.tasks.set(id, rec);
    this.#log(id);
    this.#updateAgentState(agent);
    if (req.sessionId) {
      const ctx = this.#s.store.sessions.get(req.sessionId)?.session.context;
      if (ctx) {
        ctx.currentTaskId = id;
        ctx.taskHistory.push(id);
      }
    }
    this.#s.emit(EventType.TASK_CREATED, {
      source: "agent",
      sessionId: req.sessionId,
      data: { task_id: id, agent_id: agent.agent.id, type: taskTypeName(req.type) },
      correlationId: id,
    });
    this.#s.sendToAgent(agent.agent.id, {
      type: MessageType.TASK_REQUEST,
      payload: {
        case: "taskMessage",
        value: {
          taskId: id,
          sessionId: req.sessionId,
          state: TaskState.QUEUED,
          output: req.config?.inputData ?? new Uint8Array(),
        },
      },
      metadata: { correlationId: id, sessionId: req.sessionId },
    });
    if (timeoutMs) {
      this.#s.schedule(`task:${id}`, now + timeoutMs, () => {
        if (!TERMINAL.has(task.state)) {
          this.#finish(rec, TaskState.TIMEOUT, {
            error: { code: "TIMEOUT", message: `task exceeded ${timeoutMs} ms` },
          });
          this.#notifyCancel(rec, "timeout");
        }
      });
    }
    return { taskId: id, task };
  }

  #log(taskId: string): SeqLog<StreamTaskResponse> {
    let log = this.#taskLogs.get(taskId);
    if (!log) {
      log = new SeqLog<StreamTaskResponse>(1000);
      this.#taskLogs.set(taskId, log);
    }
    return log;
  }

  #task(id: string): TaskRecord {
    if (!id) throw invalid("task_id is required");
    const rec = this.#s.store.tasks.get(id);
    if (!rec) throw notFound(`task ${id} not found`);
    return rec;
  }

  #push(rec: TaskRecord, payload: StreamTaskResponse["payload"]): void {
    this.#log(rec.task.id).append({ $typeName: "agent.v1.StreamTaskResponse", payload });
  }

  #running(rec: TaskRecord): void {
    if (rec.task.state === TaskState.QUEUED || rec.task.state === TaskState.PENDING) {
      rec.task.state = TaskState.RUNNING;
      rec.task.startedAt = timestampFromMs(this.#s.now());
      this.#push(rec, {
        case: "status",
        value: {
          $typeName: "agent.v1.TaskStatusUpdate",
          state: TaskState.RUNNING,
          message: "running",
          timestamp: rec.task.startedAt,
        },
      });
      this.#s.emit(EventType.TASK_UPDATED, {
        source: "agent",
        sessionId: rec.task.sessionId,
        data: { task_id: rec.task.id, state: "RUNNING" },
        correlationId: rec.task.id,
      });
    }
  }

  /** Ends a task in a terminal state, tells its followers, and emits the event. */
  #finish(
    rec: TaskRecord,
    state: TaskState,
    extra: { result?: Task["result"]; error?: { code: string; message: string } },
  ): void {
    if (TERMINAL.has(rec.task.state)) return;
    const now = this.#s.now();
    rec.task.state = state;
    rec.task.completedAt = timestampFromMs(now);
    this.#s.cancel(`task:${rec.task.id}`);
    if (extra.result) rec.task.result = extra.result;
    if (extra.error) {
      rec.task.error = {
        $typeName: "agent.v1.TaskError",
        code: extra.error.code,
        message: extra.error.message,
        details: [],
        stackTrace: "",
        occurredAt: timestampFromMs(now),
      };
    }
    if (state === TaskState.COMPLETED) {
      rec.task.progress = 1;
      this.#push(rec, {
        case: "complete",
        value: {
          $typeName: "agent.v1.TaskComplete",
          taskId: rec.task.id,
          ...(rec.task.result ? { result: rec.task.result } : {}),
          completedAt: rec.task.completedAt,
        },
      });
    } else if (state === TaskState.FAILED && rec.task.error) {
      this.#push(rec, { case: "error", value: rec.task.error });
    } else {
      this.#push(rec, {
        case: "status",
        value: {
          $typeName: "agent.v1.TaskStatusUpdate",
          state,
          message: extra.error?.message ?? TaskState[state].toLowerCase(),
          timestamp: rec.task.completedAt,
        },
      });
    }
    const agent = this.#s.store.agents.get(rec.task.agentId);
    if (agent) this.#updateAgentState(agent);
    this.#s.emit(state === TaskState.COMPLETED ? EventType.TASK_COMPLETED : EventType.TASK_FAILED, {
      source: "agent",
      sessionId: rec.task.sessionId,
      data: { task_id: rec.task.id, state: TaskState[state], ...(extra.error ? { error: extra.error.message } : {}) },
      correlationId: rec.task.id,
    });
  }

  /** Applies an agent's report (progress, output, status, completion, error) to a task. */
  report(rec: TaskRecord, payload: StreamTaskRequest["payload"]): void {
    if (TERMINAL.has(rec.task.state)) {
      throw precondition(`task ${rec.task.id} is already ${TaskState[rec.task.state].toLowerCase()}`);
    }
    switch (payload.case) {
      case "progress":
        this.#running(rec);
        if (payload.value.percent < 0 || payload.value.percent > 1)
          throw invalid("progress.percent must be within 0..1");
        rec.task.progress = payload.value.percent;
        this.#push(rec, { case: "progress", value: payload.value });
        break;
      case "output":
        this.#running(rec);
        this.#push(rec, { case: "output", value: payload.value });
        break;
      case "status":
        if (TERMINAL.has(payload.value.state)) {
          this.#finish(rec, payload.value.state, {
            error: { code: TaskState[payload.value.state], message: payload.value.message },
          });
        } else {
          this.#running(rec);
          if (payload.value.state !== TaskState.RUNNING) {
            rec.task.state = payload.value.state;
            this.#push(rec, { case: "status", value: payload.value });
          }
        }
        break;
      case "complete":
        this.#running(rec);
        this.#finish(rec, TaskState.COMPLETED, {
          result: payload.value.result ?? {
            $typeName: "agent.v1.TaskResult",
            exitCode: 0,
            outputData: new Uint8Array(),
            outputText: "",
            errorText: "",
            metadata: {},
            executionDurationNs: 0n,
          },
        });
        if (rec.task.result && rec.task.startedAt) {
          rec.task.result.executionDurationNs = BigInt(this.#s.now() - timestampMs(rec.task.startedAt)) * 1_000_000n;
        }
        break;
      case "errorMsg":
        this.#running(rec);
        this.#finish(rec, TaskState.FAILED, {
          error: { code: payload.value.code || "FAILED", message: payload.value.message },
        });
        break;
      default:
        break;
    }
  }

  #notifyCancel(rec: TaskRecord, reason: string): void {
    if (this.#s.store.agents.has(rec.task.agentId)) {
      this.#s.sendToAgent(rec.task.agentId, {
        type: MessageType.CONTROL,
        payload: {
          case: "controlMessage",
          value: { command: ControlCommand.CANCEL, parameters: { task_id: rec.task.id, reason } },
        },
        metadata: { correlationId: rec.task.id, sessionId: rec.task.sessionId },
      });
    }
  }

  cancelTask(req: CancelTaskRequest) {
    const rec = this.#task(req.taskId);
    if (TERMINAL.has(rec.task.state)) {
      return { taskId: rec.task.id, state: rec.task.state, cancelled: false };
    }
    this.#finish(rec, TaskState.CANCELLED, { error: { code: "CANCELLED", message: req.reason || "cancelled" } });
    this.#notifyCancel(rec, req.reason || "cancelled");
    return { taskId: rec.task.id, state: rec.task.state, cancelled: true };
  }

  listTasks(req: ListTasksRequest) {
    const f = req.filter;
    const tasks = [...this.#s.store.tasks.values()]
      .map((t) => t.task)
      .filter((t) => !req.agentId || t.agentId === req.agentId)
      .filter(
        (t) =>
          !f ||
          ((f.state === TaskState.UNSPECIFIED || t.state === f.state) &&
            (f.type === TaskType.UNSPECIFIED || t.type === f.type) &&
            (f.priority === 0 || t.priority === f.priority) &&
            (!f.sessionId || t.sessionId === f.sessionId) &&
            (!f.createdAfter || (t.createdAt && timestampMs(t.createdAt) >= timestampMs(f.createdAfter))) &&
            (!f.createdBefore || (t.createdAt && timestampMs(t.createdAt) <= timestampMs(f.createdBefore)))),
      );
    return { tasks, totalCount: tasks.length };
  }

  getTaskStatus(req: GetTaskStatusRequest) {
    return { task: this.#task(req.taskId).task };
  }

  /**
   * StreamTask: the first request names the task. The stream replays everything the task
   * reported and follows it until it ends. Inputs go to the agent (DATA messages), a cancel
   * cancels the task; progress/output/status/complete/error frames are the agent's reports.
   */
  streamTask(reqs: AsyncIterable<StreamTaskRequest>, hctx: HandlerContext) {
    return serveBidi<StreamTaskRequest, StreamTaskResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      heartbeat: taskHeartbeat,
      setup: (first, ctx) => {
        const rec = this.#task(first.taskId);
        const handle = (req: StreamTaskRequest) => {
          if (req.taskId && req.taskId !== rec.task.id) throw invalid(`this stream belongs to task ${rec.task.id}`);
          const p = req.payload;
          switch (p.case) {
            case "heartbeat":
              ctx.out.tryPush(taskHeartbeat());
              return;
            case "input":
              if (TERMINAL.has(rec.task.state)) throw precondition(`task ${rec.task.id} has ended`);
              rec.inputs.push(p.value);
              this.#s.sendToAgent(rec.task.agentId, {
                type: MessageType.DATA,
                payload: {
                  case: "dataMessage",
                  value: {
                    contentType: "application/octet-stream",
                    data: p.value.data,
                    headers: { task_id: rec.task.id, ...p.value.metadata },
                  },
                },
                metadata: { correlationId: rec.task.id, sessionId: rec.task.sessionId },
              });
              return;
            case "cancel":
              this.cancelTask({
                $typeName: "agent.v1.CancelTaskRequest",
                taskId: rec.task.id,
                reason: p.value.reason,
                force: p.value.force,
              });
              return;
            case undefined:
              return;
            default:
              this.report(rec, p);
          }
        };
        ctx.spawn(
          (async () => {
            for await (const e of this.#log(rec.task.id).follow(0, ctx.signal)) {
              await ctx.out.push(e.item);
              if (TERMINAL.has(rec.task.state) && e.seq >= this.#log(rec.task.id).lastSeq) {
                ctx.finish();
                return;
              }
            }
          })(),
        );
        if (TERMINAL.has(rec.task.state) && this.#log(rec.task.id).lastSeq === 0) ctx.finish();
        handle(first);
        return { onRequest: handle, onHalfClose: () => {} };
      },
    });
  }

  /** Handles a message an agent sends: task updates, chat replies for listeners. */
  #fromAgent(agentId: string, msg: AgentMessage): void {
    const rec = this.#s.store.agents.get(agentId);
    if (rec) this.#beat(rec);
    if (msg.payload.case === "taskMessage") {
      const tm = msg.payload.value;
      const task = this.#task(tm.taskId);
      if (task.task.agentId !== agentId)
        throw new ConnectError(`task ${tm.taskId} is not assigned to agent ${agentId}`, Code.PermissionDenied);
      if (tm.output.length > 0)
        this.report(task, {
          case: "output",
          value: { $typeName: "agent.v1.TaskOutput", data: tm.output, text: "", streamType: "stdout" },
        });
      if (tm.progress > 0)
        this.report(task, {
          case: "progress",
          value: { $typeName: "agent.v1.TaskProgress", percent: tm.progress, message: tm.statusMessage, details: {} },
        });
      if (tm.state === TaskState.COMPLETED) {
        this.report(task, { case: "complete", value: { $typeName: "agent.v1.TaskComplete", taskId: tm.taskId } });
      } else if (tm.state !== TaskState.UNSPECIFIED && tm.state !== task.task.state) {
        this.report(task, {
          case: "status",
          value: { $typeName: "agent.v1.TaskStatusUpdate", state: tm.state, message: tm.statusMessage },
        });
      }
      return;
    }
    for (const l of this.#listeners) if (l(agentId, msg)) return;
  }

  sendMessage(req: AgentSendMessageRequest) {
    this.#agent(req.agentId);
    if (!req.message) throw invalid("message is required");
    this.#fromAgent(req.agentId, req.message);
    return { messageId: req.message.id || this.#s.id("amsg"), timestamp: timestampFromMs(this.#s.now()) };
  }

  /**
   * StreamAgent: the first request names the agent. The agent receives the messages routed
   * to it (tasks, task inputs, cancels, chat messages), including those queued while it was
   * not connected; what it sends is handled like SendMessage; heartbeats keep it healthy.
   */
  streamAgent(reqs: AsyncIterable<StreamAgentRequest>, hctx: HandlerContext) {
    return serveBidi<StreamAgentRequest, StreamAgentResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      heartbeat: agentHeartbeat,
      setup: (first, ctx) => {
        const rec = this.#agent(first.agentId);
        if (rec.liveness === "offline" && rec.agent.state === AgentState.TERMINATED) this.#beat(rec);
        const agentId = rec.agent.id;
        const inbox = this.#s.agentInbox(agentId);
        const handle = (req: StreamAgentRequest) => {
          if (req.agentId && req.agentId !== agentId) throw invalid(`this stream belongs to agent ${agentId}`);
          if (req.payload.case === "heartbeat") {
            const r = this.#s.store.agents.get(agentId);
            if (r) this.#beat(r);
          } else if (req.payload.case === "message") {
            this.#fromAgent(agentId, req.payload.value);
          }
        };
        ctx.spawn(
          (async () => {
            for await (const e of inbox.log.follow(inbox.delivered, ctx.signal)) {
              await ctx.out.push({
                $typeName: "agent.v1.StreamAgentResponse",
                payload: { case: "message", value: e.item },
              });
              inbox.delivered = Math.max(inbox.delivered, e.seq);
            }
            // The inbox closes when the agent unregisters.
            ctx.finish();
          })(),
        );
        handle(first);
        return { onRequest: handle, onHalfClose: () => ctx.finish() };
      },
    });
  }

  /** Ends every task stream. */
  close(): void {
    for (const log of this.#taskLogs.values()) log.close();
  }
}
