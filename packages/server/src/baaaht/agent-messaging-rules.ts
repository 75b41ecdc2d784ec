import {
  type AgentMessage,
  type AgentSendMessageRequest,
  AgentState,
  type StreamAgentRequest,
  type StreamAgentResponse,
  TaskState,
} from "@baton/wire/baaaht";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type { AgentRegistryRules } from "./agent-registry-rules.js";
import { serveBidi } from "./bidi.js";
import { denied, invalid } from "./errors.js";
import type { BaaahtState } from "./state.js";
import type { TaskRules } from "./task-rules.js";

/** Something that wants to hear what agents send (the gateway listens for chat replies); true when it took the message. */
export type AgentMessageListener = (agentId: string, msg: AgentMessage) => boolean;

const agentHeartbeat = (): StreamAgentResponse => ({
  $typeName: "agent.v1.StreamAgentResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/**
 * What flows between the server and its agents. An agent receives the messages routed to
 * it (tasks, task inputs, cancels, chat messages) over StreamAgent, including those queued
 * while it was not connected. What it sends, over StreamAgent or SendMessage, counts as a
 * heartbeat: task messages update their task (only the task's own agent may), others go
 * to the listeners (gateway chat replies).
 */
export class AgentMessagingRules {
  readonly #s: BaaahtState;
  readonly #agents: AgentRegistryRules;
  readonly #tasks: TaskRules;
  readonly #listeners: AgentMessageListener[] = [];

  constructor(state: BaaahtState, agents: AgentRegistryRules, tasks: TaskRules) {
    this.#s = state;
    this.#agents = agents;
    this.#tasks = tasks;
  }

  /** Adds a listener for messages agents send that are not task updates. */
  onAgentMessage(listener: AgentMessageListener): void {
    this.#listeners.push(listener);
  }

  /** SendMessage. @throws {ConnectError} NOT_FOUND for an unknown agent; INVALID_ARGUMENT without a message. */
  send(req: AgentSendMessageRequest) {
    this.#agents.get(req.agentId);
    if (!req.message) throw invalid("message is required");
    this.#fromAgent(req.agentId, req.message);
    return {
      /** The message id: the one sent, else a new `amsg-...` id. */
      messageId: req.message.id || this.#s.id("amsg"),
      /** When the server took the message. */
      timestamp: timestampFromMs(this.#s.now()),
    };
  }

  /**
   * StreamAgent: the first request names the agent. The agent receives the messages routed
   * to it; what it sends is handled like SendMessage; heartbeats keep it healthy. The
   * stream ends when the agent unregisters or half-closes.
   */
  stream(reqs: AsyncIterable<StreamAgentRequest>, hctx: HandlerContext) {
    return serveBidi<StreamAgentRequest, StreamAgentResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      track: () => this.#s.openStream(),
      heartbeat: agentHeartbeat,
      setup: (first, ctx) => {
        const rec = this.#agents.get(first.agentId);
        if (rec.liveness === "offline" && rec.agent.state === AgentState.TERMINATED) this.#agents.beat(rec);
        const agentId = rec.agent.id;
        const inbox = this.#s.agentInbox(agentId);
        const handle = (req: StreamAgentRequest) => {
          if (req.agentId && req.agentId !== agentId) throw invalid(`this stream belongs to agent ${agentId}`);
          if (req.payload.case === "heartbeat") {
            const r = this.#s.store.agents.get(agentId);
            if (r) this.#agents.beat(r);
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

  /** Handles a message an agent sends: task updates, chat replies for listeners. */
  #fromAgent(agentId: string, msg: AgentMessage): void {
    const rec = this.#s.store.agents.get(agentId);
    if (rec) this.#agents.beat(rec);
    if (msg.payload.case === "taskMessage") {
      const tm = msg.payload.value;
      const task = this.#tasks.get(tm.taskId);
      if (task.task.agentId !== agentId) throw denied(`task ${tm.taskId} is not assigned to agent ${agentId}`);
      if (tm.output.length > 0)
        this.#tasks.report(task, {
          case: "output",
          value: { $typeName: "agent.v1.TaskOutput", data: tm.output, text: "", streamType: "stdout" },
        });
      if (tm.progress > 0)
        this.#tasks.report(task, {
          case: "progress",
          value: { $typeName: "agent.v1.TaskProgress", percent: tm.progress, message: tm.statusMessage, details: {} },
        });
      if (tm.state === TaskState.COMPLETED) {
        this.#tasks.report(task, {
          case: "complete",
          value: { $typeName: "agent.v1.TaskComplete", taskId: tm.taskId },
        });
      } else if (tm.state !== TaskState.UNSPECIFIED && tm.state !== task.task.state) {
        this.#tasks.report(task, {
          case: "status",
          value: { $typeName: "agent.v1.TaskStatusUpdate", state: tm.state, message: tm.statusMessage },
        });
      }
      return;
    }
    for (const l of this.#listeners) if (l(agentId, msg)) return;
  }
}
