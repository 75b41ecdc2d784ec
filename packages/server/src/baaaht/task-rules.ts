import {
  type CancelTaskRequest,
  ControlCommand,
  EventType,
  type ExecuteTaskRequest,
  type GetTaskStatusRequest,
  type ListTasksRequest,
  MessageType,
  type StreamTaskRequest,
  type StreamTaskResponse,
  type Task,
  TaskSchema,
  TaskState,
  TaskType,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { makeRoom } from "../retention.js";
import type { AgentRegistryRules } from "./agent-registry-rules.js";
import { serveBidi } from "./bidi.js";
import { exhausted, invalid, notFound, precondition } from "./errors.js";
import { SeqLogs } from "./log.js";
import { lookup } from "./lookup.js";
import type { BaaahtState } from "./state.js";
import { type AgentRecord, type TaskRecord, trimTo } from "./store.js";
import { supportsTask, TERMINAL_TASK, taskTypeName } from "./task-types.js";

const taskHeartbeat = (): StreamTaskResponse => ({
  $typeName: "agent.v1.StreamTaskResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/**
 * Task dispatch of `agent.v1.AgentService`. ExecuteTask routes a task to the named agent, or
 * to the least busy healthy agent with free capacity that lists its type in
 * `supported_tasks`; the agent receives it over StreamAgent (a TASK_REQUEST message),
 * reports progress, output and completion over StreamTask (or TASK_UPDATE messages), and
 * the caller follows it over StreamTask and GetTaskStatus. A task's `timeout_ns` ends it
 * TIMEOUT on the clock; CancelTask reaches the agent as a CANCEL control message; an agent
 * going offline fails its unfinished tasks.
 */
export class TaskRules {
  readonly #s: BaaahtState;
  readonly #agents: AgentRegistryRules;
  /** What each task reported, for its StreamTask followers. */
  readonly #logs = new SeqLogs<StreamTaskResponse>(1000);

  constructor(state: BaaahtState, agents: AgentRegistryRules) {
    this.#s = state;
    this.#agents = agents;
    agents.onOffline((agent, reason) => {
      for (const t of this.#s.store.tasks.values()) {
        if (t.task.agentId === agent.agent.id && !TERMINAL_TASK.has(t.task.state)) {
          this.#finish(t, TaskState.FAILED, { error: { code: "AGENT_OFFLINE", message: `agent ${reason}` } });
        }
      }
    });
  }

  /** How many tasks have not finished. */
  get active(): number {
    return [...this.#s.store.tasks.values()].filter((t) => !TERMINAL_TASK.has(t.task.state)).length;
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without an id, NOT_FOUND for an unknown one. */
  get(id: string): TaskRecord {
    return lookup(this.#s.store.tasks, id, "task_id", "task");
  }

  /**
   * Creates a task QUEUED on its agent and sends it there.
   *
   * @throws {ConnectError} INVALID_ARGUMENT without a type; NOT_FOUND for an unknown session
   *   or agent; FAILED_PRECONDITION when no agent can take it.
   */
  execute(req: ExecuteTaskRequest) {
    if (req.type === TaskType.UNSPECIFIED) throw invalid("type is required");
    if (req.sessionId && !this.#s.store.sessions.has(req.sessionId))
      throw notFound(`session ${req.sessionId} not found`);
    const agent = this.#route(req);
    const room = makeRoom(
      this.#s.store.tasks,
      this.#s.settings.maxTasks,
      (t) => TERMINAL_TASK.has(t.task.state),
      (taskId) => this.#logs.delete(taskId),
    );
    if (!room) throw exhausted(`${this.#s.settings.maxTasks} tasks are kept and none has finished (baaaht.maxTasks)`);
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
    this.#logs.get(id);
    this.#agents.updateState(agent);
    if (req.sessionId) {
      const ctx = this.#s.store.sessions.get(req.sessionId)?.session.context;
      if (ctx) {
        ctx.currentTaskId = id;
        ctx.taskHistory.push(id);
        trimTo(ctx.taskHistory, this.#s.settings.historySize);
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
        if (!TERMINAL_TASK.has(task.state)) {
          this.#finish(rec, TaskState.TIMEOUT, {
            error: { code: "TIMEOUT", message: `task exceeded ${timeoutMs} ms` },
          });
          this.#notifyCancel(rec, "timeout");
        }
      });
    }
    return {
      /** The new task id. */
      taskId: id,
      /** The task as queued for its agent. */
      task,
    };
  }

  /**
   * Applies an agent's report (progress, output, status, completion, error) to a task.
   *
   * @throws {ConnectError} FAILED_PRECONDITION for a finished task; INVALID_ARGUMENT for
   *   progress outside 0..1.
   */
  report(rec: TaskRecord, payload: StreamTaskRequest["payload"]): void {
    if (TERMINAL_TASK.has(rec.task.state)) {
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
        if (TERMINAL_TASK.has(payload.value.state)) {
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

  /** Cancels an unfinished task (the agent is told); a finished one is left as it is. @throws {ConnectError} NOT_FOUND. */
  cancel(req: CancelTaskRequest) {
    const rec = this.get(req.taskId);
    if (TERMINAL_TASK.has(rec.task.state)) {
      return {
        /** The task. */
        taskId: rec.task.id,
        /** Its state, unchanged: it had already finished. */
        state: rec.task.state,
        /** False: the task had already finished. */
        cancelled: false,
      };
    }
    this.#finish(rec, TaskState.CANCELLED, { error: { code: "CANCELLED", message: req.reason || "cancelled" } });
    this.#notifyCancel(rec, req.reason || "cancelled");
    return {
      /** The task. */
      taskId: rec.task.id,
      /** Its state now: CANCELLED. */
      state: rec.task.state,
      /** True: the task was cancelled and its agent told. */
      cancelled: true,
    };
  }

  /** Tasks of an agent (or all) matching every set field of the filter. */
  list(req: ListTasksRequest) {
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
    return {
      /** The matching tasks. */
      tasks,
      /** How many matched (the server does not page). */
      totalCount: tasks.length,
    };
  }

  /** @throws {ConnectError} NOT_FOUND for an unknown task. */
  status(req: GetTaskStatusRequest) {
    return {
      /** The task with its current state, progress and result. */
      task: this.get(req.taskId).task,
    };
  }

  /**
   * StreamTask: the first request names the task. The stream replays everything the task
   * reported and follows it until it ends. Inputs go to the agent (DATA messages), a cancel
   * cancels the task; progress/output/status/complete/error frames are the agent's reports.
   */
  stream(reqs: AsyncIterable<StreamTaskRequest>, hctx: HandlerContext) {
    return serveBidi<StreamTaskRequest, StreamTaskResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      track: () => this.#s.openStream(),
      heartbeat: taskHeartbeat,
      setup: (first, ctx) => {
        const rec = this.get(first.taskId);
        const handle = (req: StreamTaskRequest) => {
          if (req.taskId && req.taskId !== rec.task.id) throw invalid(`this stream belongs to task ${rec.task.id}`);
          const p = req.payload;
          switch (p.case) {
            case "heartbeat":
              ctx.out.tryPush(taskHeartbeat());
              return;
            case "input":
              if (TERMINAL_TASK.has(rec.task.state)) throw precondition(`task ${rec.task.id} has ended`);
              rec.inputs.push(p.value);
              trimTo(rec.inputs, this.#s.settings.historySize);
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
              this.cancel({
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
        const log = this.#logs.get(rec.task.id);
        ctx.spawn(
          (async () => {
            for await (const e of log.follow(0, ctx.signal)) {
              await ctx.out.push(e.item);
              if (TERMINAL_TASK.has(rec.task.state) && e.seq >= log.lastSeq) {
                ctx.finish();
                return;
              }
            }
          })(),
        );
        if (TERMINAL_TASK.has(rec.task.state) && log.lastSeq === 0) ctx.finish();
        handle(first);
        // A half-close does not end the stream: the task's reports keep coming until it ends.
        return { onRequest: handle };
      },
    });
  }

  /** Ends every task stream. */
  close(): void {
    this.#logs.close();
  }

  /** Picks the agent for a task: the named one, or the least busy healthy one supporting the type. */
  #route(req: ExecuteTaskRequest): AgentRecord {
    if (req.agentId) {
      const rec = this.#agents.get(req.agentId);
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

  #push(rec: TaskRecord, payload: StreamTaskResponse["payload"]): void {
    this.#logs.get(rec.task.id).append({ $typeName: "agent.v1.StreamTaskResponse", payload });
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
    if (TERMINAL_TASK.has(rec.task.state)) return;
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
    if (agent) this.#agents.updateState(agent);
    this.#s.emit(state === TaskState.COMPLETED ? EventType.TASK_COMPLETED : EventType.TASK_FAILED, {
      source: "agent",
      sessionId: rec.task.sessionId,
      data: { task_id: rec.task.id, state: TaskState[state], ...(extra.error ? { error: extra.error.message } : {}) },
      correlationId: rec.task.id,
    });
  }

  #notifyCancel(rec: TaskRecord, reason: string): void {
    if (!this.#s.store.agents.has(rec.task.agentId)) return;
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
