import {
  type CallOptions,
  CanceledError,
  callOrThrow,
  connectCallOptions,
  type PagedList,
  required,
  unrefTimer,
} from "@baton/core";
import {
  type AgentMessage,
  type AgentService,
  ControlCommand,
  MessageType,
  type StreamAgentRequestSchema,
  type StreamAgentResponse,
  type Task,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { AgentTask } from "./agent-task.js";
import { ChatRequest } from "./chat-request.js";
import { DuplexStream } from "./duplex.js";
import { positiveMs } from "./input.js";
import { PushQueue } from "./push-queue.js";
import type { StreamSettings } from "./stream-settings.js";
import { type ListTasksInput, listTasks } from "./tasks.js";

type AgentClient = Client<typeof AgentService>;
type AgentFrame = MessageInitShape<typeof StreamAgentRequestSchema>;

/** What an agent receives: tasks, gateway chat messages, and any other message. */
export type AgentInbound =
  | {
      /** Switch on this: a task the orchestrator assigned to the agent. */
      kind: "task";
      /** The task; report through `progress()`, `output()`, then `complete()` or `fail()`. */
      task: AgentTask;
    }
  | {
      /** Switch on this: a chat turn the gateway routed to the agent. */
      kind: "chat";
      /** The chat request; answer with `reply(text)` (or `abort(reason)`). */
      chat: ChatRequest;
    }
  | {
      /** Switch on this: any other message addressed to the agent (neither a task nor a chat). */
      kind: "message";
      /** The message as the wire carries it. */
      message: AgentMessage;
    };

/** What unregistering an agent takes. */
export interface UnregisterOptions {
  /** Why (logged by the server). */
  reason?: string;
}

/** The live side of an agent: its StreamAgent, heartbeat timer and inbox. */
interface Attachment {
  stream: DuplexStream<AgentFrame, StreamAgentResponse, AgentMessage>;
  timer: ReturnType<typeof setInterval>;
  inbox: PushQueue<AgentInbound>;
}

/**
 * A registered agent. `agents.register()` returns one that is attached: it heartbeats and
 * receives over StreamAgent until {@link AgentHandle.unregister}. `agents.getHandle(id)`
 * makes one for an agent registered earlier (by another process, say) without a call;
 * it attaches when first iterated or when `ready` is awaited. `for await` it to receive
 * the tasks and messages routed to it.
 */
export class AgentHandle implements AsyncIterable<AgentInbound> {
  /** The agent id. */
  readonly id: string;
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;
  readonly #heartbeatMs: number;
  readonly #tasks = new Map<string, AgentTask>();
  readonly #inputs = new Map<string, PushQueue<Uint8Array>>();
  readonly #chats = new Map<string, ChatRequest>();
  #attachment: Attachment | undefined;
  #heartbeats = 0;
  #closed = false;

  /** @internal Use `agents.register()` or `agents.getHandle()`. */
  constructor(raw: AgentClient, id: string, settings: StreamSettings, heartbeatMs: number) {
    this.#raw = raw;
    this.id = id;
    this.#settings = settings;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Ids of the tasks routed to this agent that are still running here (not completed, failed or aborted). */
  get runningTasks(): string[] {
    return [...this.#tasks.keys()];
  }

  /** Heartbeats sent by the timer or explicitly. */
  get heartbeats(): number {
    return this.#heartbeats;
  }

  /**
   * Attaches the agent (when it is not yet) and resolves once the server has attached its
   * stream; rejects when the server refused it (an unknown agent).
   */
  get ready(): Promise<void> {
    try {
      const a = this.#attach();
      return a ? a.stream.ready : Promise.reject(new CanceledError("the agent was unregistered"));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @throws {InvalidArgumentError} for a bad heartbeat interval. */
  #attach(): Attachment | undefined {
    if (this.#closed) return undefined;
    if (!this.#attachment) {
      positiveMs(this.#heartbeatMs, "heartbeatIntervalMs");
      const id = this.id;
      const stream = new DuplexStream<AgentFrame, StreamAgentResponse, AgentMessage>({
        open: (reqs, signal) => this.#raw.streamAgent(reqs, { signal }),
        heartbeat: () => ({ agentId: id, payload: { case: "heartbeat", value: {} } }),
        heartbeatMs: this.#heartbeatMs,
        classify: (res) => {
          if (res.payload.case === "heartbeat") return "heartbeat";
          if (res.payload.case === "message") return { item: res.payload.value };
          return undefined;
        },
      });
      const timer = setInterval(() => {
        void this.heartbeat().catch(() => {});
      }, this.#heartbeatMs);
      unrefTimer(timer);
      const inbox = new PushQueue<AgentInbound>({ capacity: 1024 });
      this.#attachment = { stream, timer, inbox };
      void this.#pump(stream, inbox);
    }
    return this.#attachment;
  }

  /** Reads StreamAgent all the time, so cancels and task inputs apply while tasks run. */
  async #pump(stream: AsyncIterable<AgentMessage>, inbox: PushQueue<AgentInbound>): Promise<void> {
    try {
      for await (const msg of stream) {
        const inbound = await this.#toInbound(msg);
        if (inbound && !(await inbox.push(inbound))) break;
      }
      inbox.close();
    } catch (err) {
      inbox.close(err);
    }
  }

  /** Sends one heartbeat now; returns the ids of tasks queued for this agent. */
  async heartbeat(options: CallOptions = {}): Promise<string[]> {
    const res = await callOrThrow(() => this.#raw.heartbeat({ agentId: this.id }, connectCallOptions(options)));
    this.#heartbeats++;
    return res.pendingTasks;
  }

  /**
   * The tasks of this agent matching the filter.
   *
   * @throws {InvalidArgumentError} for an unknown state or type name, on the first await or iteration.
   */
  tasks(filter: Omit<ListTasksInput, "agentId"> = {}, options: CallOptions = {}): PagedList<Task> {
    return listTasks(this.#raw, { ...filter, agentId: this.id }, options);
  }

  /** Stops heartbeating and receiving, and unregisters. Idempotent. */
  async unregister(input: UnregisterOptions = {}, options: CallOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const a = this.#attachment;
    if (a) {
      clearInterval(a.timer);
      a.stream.cancel();
      a.inbox.close();
    }
    for (const t of [...this.#tasks.values()]) t.abort("agent unregistered");
    await callOrThrow(() =>
      this.#raw.unregister({ agentId: this.id, reason: input.reason ?? "" }, connectCallOptions(options)),
    );
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
      const routed = required(res.task, "task");
      const id = routed.id;
      const task = new AgentTask(this.#raw, routed, this.#settings, this.#inputsOf(id), () => {
        // A finished task is forgotten, with its inputs: the maps hold only running tasks.
        if (this.#tasks.get(id) === task) this.#tasks.delete(id);
        this.#inputs.delete(id);
      });
      this.#tasks.set(id, task);
      return { kind: "task", task };
    }
    if (p.case === "controlMessage" && p.value.command === ControlCommand.CANCEL) {
      const { task_id: taskId, message_id: messageId, reason } = p.value.parameters;
      if (taskId) this.#tasks.get(taskId)?.abort(reason ?? "cancelled");
      if (messageId) this.#chats.get(messageId)?.abort(reason ?? "cancelled");
    }
    if (p.case === "dataMessage") {
      const h = p.value.headers;
      if (h.task_id) {
        // Inputs go to a task this agent is running; those for unknown or finished tasks
        // are dropped (keeping a queue for them would grow without bound).
        if (this.#tasks.has(h.task_id)) this.#inputsOf(h.task_id).tryPush(p.value.data);
        return undefined;
      }
      if (h.message_id && h.gateway_session_id) {
        const content = new TextDecoder().decode(p.value.data);
        const chat = new ChatRequest(this.#raw, this.id, h.gateway_session_id, h.message_id, content);
        this.#chats.set(chat.messageId, chat);
        // Bounded: only recent chats can still be cancelled.
        if (this.#chats.size > 1000) this.#chats.delete(this.#chats.keys().next().value as string);
        return { kind: "chat", chat };
      }
    }
    return { kind: "message", message: msg };
  }

  /**
   * The tasks and messages routed to this agent (attaching it first, when it is not yet).
   * Leaving a loop early does not stop the agent: iterate again to continue; the
   * iteration ends after `unregister()`.
   *
   * @throws {BatonError} when the agent's stream fails.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<AgentInbound> {
    const a = this.#attach();
    if (!a) return;
    for (;;) {
      const next = await a.inbox.shift();
      if (!next) return;
      yield next.value;
    }
  }
}
