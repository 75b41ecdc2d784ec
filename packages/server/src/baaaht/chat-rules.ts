import {
  type AgentMessage,
  AgentType,
  ControlCommand,
  GatewayEventType,
  type GatewayMessage,
  GatewayMessageRole,
  GatewayMessageSchema,
  GatewaySessionState,
  MessageRole,
  MessageType,
  type ResponseChunk,
  ResponseChunkSchema,
  type StreamChatRequest,
  type StreamChatResponse,
  type StreamResponsesRequest,
  type StreamResponsesResponse,
  StreamState,
  type StreamStatus,
  StreamStatusSchema,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { makeRoom } from "../retention.js";
import { serveBidi } from "./bidi.js";
import { exhausted, invalid, notFound } from "./errors.js";
import type { GatewaySessionRules } from "./gateway-session-rules.js";
import { SeqLogs } from "./log.js";
import type { MessageRules } from "./message-rules.js";
import type { BaaahtState } from "./state.js";
import { type GatewayResponseRecord, trimTo } from "./store.js";

/** The capability (`supported_tasks` entry) of agents that answer gateway chat. */
export const CHAT_CAPABILITY = "chat";
/** Agent label that binds an agent to one gateway session (unset: it serves every session). */
export const SESSION_LABEL = "baaaht.gateway-session";
/** DataMessage header naming the user message a reply answers. */
export const IN_REPLY_TO_HEADER = "in_reply_to";
/** DataMessage header `true` on an agent's last reply chunk. */
export const FINAL_HEADER = "final";

type ResponseItem = { chunk: ResponseChunk } | { status: StreamStatus };

const chatHeartbeat = (): StreamChatResponse => ({
  $typeName: "gateway.v1.StreamChatResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/** A reply item as the payload both StreamChat and StreamResponses carry it in. */
const asChatPayload = (
  item: ResponseItem,
): { case: "chunk"; value: ResponseChunk } | { case: "status"; value: StreamStatus } =>
  "chunk" in item ? { case: "chunk", value: item.chunk } : { case: "status", value: item.status };

/**
 * Gateway chat. A user message goes to an agent serving the session: a healthy agent whose
 * `supported_tasks` contains `chat` and whose `baaaht.gateway-session` label, if set, names
 * the session (bound agents first, then the least busy). It receives a DATA message
 * (headers `gateway_session_id`, `message_id`) and answers with DATA messages (header
 * `in_reply_to` = the message id, `final` = `true` on the last), over StreamAgent or
 * SendMessage. Each reply becomes a ResponseChunk, in order, the last with `is_final`; the
 * whole reply joins the history. Without a serving agent the reply fails at once, saying so.
 */
export class ChatRules {
  readonly #s: BaaahtState;
  readonly #sessions: GatewaySessionRules;
  readonly #messages: MessageRules;
  /** Each reply's chunks and statuses, by user message id, for its followers. */
  readonly #logs = new SeqLogs<ResponseItem>(10_000);
  #activeStreams = 0;

  constructor(state: BaaahtState, sessions: GatewaySessionRules, messages: MessageRules) {
    this.#s = state;
    this.#sessions = sessions;
    this.#messages = messages;
    sessions.onClosing((sessionId) => {
      for (const r of this.#s.store.responses.values()) {
        if (r.sessionId === sessionId && !r.done) this.#end(r, "cancelled", "gateway session closed");
      }
    });
  }

  /** How many StreamChat calls are open. */
  get activeStreams(): number {
    return this.#activeStreams;
  }

  /** How many healthy agents answer chat (in any session). */
  get chatAgents(): number {
    return [...this.#s.store.agents.values()].filter(
      (a) => a.liveness === "healthy" && (a.agent.capabilities?.supportedTasks ?? []).includes(CHAT_CAPABILITY),
    ).length;
  }

  /**
   * Records a user message, opens its response and routes it to an agent.
   *
   * @throws {ConnectError} FAILED_PRECONDITION on a closed session; INVALID_ARGUMENT without
   *   content, over `max_message_size`, or for a message id already used.
   */
  submit(
    sessionId: string,
    input: GatewayMessage | undefined,
  ): {
    /** The stored user message (id, timestamp and role filled in). */
    message: GatewayMessage;
    /** The response record the agent's reply chunks go into; ended with an error at once when no agent serves the session. */
    response: GatewayResponseRecord;
  } {
    const rec = this.#sessions.getOpen(sessionId);
    if (!input?.content) throw invalid("message.content is required");
    const max = rec.session.config?.maxMessageSize ?? 0;
    if (max > 0 && Buffer.byteLength(input.content) > max) throw invalid(`message exceeds max_message_size ${max}`);
    const message = create(GatewayMessageSchema, {
      ...input,
      id: input.id || this.#s.id("gmsg"),
      timestamp: input.timestamp ?? timestampFromMs(this.#s.now()),
      role: input.role === GatewayMessageRole.UNSPECIFIED ? GatewayMessageRole.USER : input.role,
    });
    if (this.#s.store.responses.has(message.id)) throw invalid(`message id ${message.id} was already used`);
    const room = makeRoom(
      this.#s.store.responses,
      this.#s.settings.maxResponses,
      (r) => r.done,
      (messageId) => this.#logs.delete(messageId),
    );
    if (!room)
      throw exhausted(
        `${this.#s.settings.maxResponses} responses are kept and none has finished (baaaht.maxResponses)`,
      );
    rec.messages.push(message);
    trimTo(rec.messages, this.#s.settings.historySize);
    rec.lastActivityMs = this.#s.now();
    this.#messages.append(rec.session.orchestratorSessionId, {
      $typeName: "orchestrator.v1.Message",
      id: "",
      role: MessageRole.USER,
      content: message.content,
    });
    this.#s.emitGateway(GatewayEventType.MESSAGE_RECEIVED, sessionId, {}, { messageId: message.id });
    const agentId = this.#agentFor(sessionId);
    const response: GatewayResponseRecord = {
      messageId: message.id,
      sessionId,
      chunks: [],
      done: false,
      outcome: undefined,
      agentId: agentId ?? "",
    };
    this.#s.store.responses.set(message.id, response);
    this.#logs.get(message.id);
    if (!agentId) {
      this.#end(
        response,
        "error",
        `no agent serves gateway session ${sessionId}: register one with supported_tasks ["${CHAT_CAPABILITY}"]`,
      );
      return { message, response };
    }
    this.#status(response, StreamState.ACTIVE, `routed to agent ${agentId}`);
    this.#s.emitGateway(GatewayEventType.STREAM_STARTED, sessionId, { agent_id: agentId }, { messageId: message.id });
    this.#s.sendToAgent(agentId, {
      type: MessageType.DATA,
      payload: {
        case: "dataMessage",
        value: {
          contentType: "text/plain",
          data: new TextEncoder().encode(message.content),
          headers: {
            gateway_session_id: sessionId,
            message_id: message.id,
            orchestrator_session_id: rec.session.orchestratorSessionId,
          },
        },
      },
      metadata: { correlationId: message.id, sessionId },
    });
    return { message, response };
  }

  /** Takes an agent's reply chunk; returns false for messages that are not chat replies. */
  onAgentMessage = (agentId: string, msg: AgentMessage): boolean => {
    if (msg.payload.case !== "dataMessage") return false;
    const dm = msg.payload.value;
    const replyTo = dm.headers[IN_REPLY_TO_HEADER] || msg.metadata?.correlationId || "";
    const r = this.#s.store.responses.get(replyTo);
    if (!r) return false;
    if (r.done || r.agentId !== agentId) return true;
    const isFinal = dm.headers[FINAL_HEADER] === "true";
    const chunk = create(ResponseChunkSchema, {
      chunkId: `${r.messageId}:${r.chunks.length}`,
      sequence: r.chunks.length,
      text: new TextDecoder().decode(dm.data),
      isDelta: true,
      isFinal,
      metadata: {
        timestamp: timestampFromMs(this.#s.now()),
        contentType: dm.contentType || "text/plain",
        totalBytes: BigInt(dm.data.length),
        progress: isFinal ? 1 : 0,
        extra: { message_id: r.messageId, agent_id: agentId },
      },
    });
    r.chunks.push(chunk);
    this.#logs.get(r.messageId).append({ chunk });
    this.#s.emitGateway(
      GatewayEventType.STREAM_CHUNK,
      r.sessionId,
      { sequence: String(chunk.sequence) },
      { messageId: r.messageId },
    );
    if (isFinal) {
      this.#remember(r);
      this.#end(r, "complete", "complete");
    }
    return true;
  };

  /** Cancels a response: the user sees CANCELLED, the agent gets a CANCEL control message. */
  cancel(r: GatewayResponseRecord, reason: string): void {
    if (r.done) return;
    this.#end(r, "cancelled", reason || "cancelled by client");
    if (r.agentId) {
      this.#s.sendToAgent(r.agentId, {
        type: MessageType.CONTROL,
        payload: {
          case: "controlMessage",
          value: { command: ControlCommand.CANCEL, parameters: { message_id: r.messageId, reason } },
        },
        metadata: { correlationId: r.messageId, sessionId: r.sessionId },
      });
    }
  }

  /**
   * StreamChat: the first request names the gateway session. Each user message is routed
   * to an agent and its reply comes back as ordered chunks (the last `is_final`) and status
   * frames; a cancel cancels the replies in flight. After the client half-closes, the
   * stream ends once every reply finished; it ends when the session closes.
   */
  streamChat(reqs: AsyncIterable<StreamChatRequest>, hctx: HandlerContext) {
    return serveBidi<StreamChatRequest, StreamChatResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      track: () => this.#s.openStream(),
      heartbeat: chatHeartbeat,
      setup: (first, ctx) => {
        const sessionId = first.sessionId;
        this.#sessions.getOpen(sessionId);
        this.#activeStreams++;
        ctx.signal.addEventListener("abort", () => this.#activeStreams--, { once: true });
        const inFlight = new Set<GatewayResponseRecord>();
        const follow = async (r: GatewayResponseRecord) => {
          const log = this.#logs.get(r.messageId);
          for await (const e of log.follow(0, ctx.signal)) {
            await ctx.out.push({ $typeName: "gateway.v1.StreamChatResponse", payload: asChatPayload(e.item) });
            if (r.done && e.seq >= log.lastSeq) break;
          }
          inFlight.delete(r);
          if (this.#s.store.gatewaySessions.get(sessionId)?.session.state === GatewaySessionState.CLOSED) {
            ctx.finish();
            return;
          }
          ctx.settle();
        };
        const handle = (req: StreamChatRequest) => {
          if (req.sessionId && req.sessionId !== sessionId)
            throw invalid(`this stream belongs to gateway session ${sessionId}`);
          const p = req.payload;
          if (p.case === "heartbeat") {
            ctx.out.tryPush(chatHeartbeat());
          } else if (p.case === "message") {
            const { response } = this.submit(sessionId, p.value);
            inFlight.add(response);
            ctx.spawn(follow(response));
          } else if (p.case === "cancel") {
            for (const r of inFlight) this.cancel(r, p.value.reason);
          }
        };
        // End the stream when the session closes while nothing is in flight.
        ctx.spawn(
          (async () => {
            for await (const e of this.#s.gatewayEvents.follow(this.#s.gatewayEvents.lastSeq, ctx.signal)) {
              if (
                e.item.type === GatewayEventType.SESSION_CLOSED &&
                e.item.metadata?.sessionId === sessionId &&
                inFlight.size === 0
              ) {
                ctx.out.tryPush({
                  $typeName: "gateway.v1.StreamChatResponse",
                  payload: {
                    case: "status",
                    value: create(StreamStatusSchema, {
                      state: StreamState.COMPLETE,
                      message: "gateway session closed",
                    }),
                  },
                });
                ctx.finish();
                return;
              }
            }
          })(),
        );
        handle(first);
        // After a half-close, the stream ends once every reply in flight has finished.
        return { onRequest: handle, drained: () => inFlight.size === 0 };
      },
    });
  }

  /**
   * StreamResponses: the chunks of one message's reply, replayed and followed until it ends.
   *
   * @throws {ConnectError} NOT_FOUND for an unknown session or a message it did not receive.
   */
  async *streamResponses(req: StreamResponsesRequest, ctx: HandlerContext): AsyncGenerator<StreamResponsesResponse> {
    this.#sessions.get(req.sessionId);
    if (!req.messageId) throw invalid("message_id is required");
    const r = this.#s.store.responses.get(req.messageId);
    if (!r || r.sessionId !== req.sessionId)
      throw notFound(`no response to message ${req.messageId} in gateway session ${req.sessionId}`);
    const log = this.#logs.get(r.messageId);
    if (r.done && log.lastSeq === 0) return;
    for await (const e of log.follow(0, ctx.signal)) {
      yield { $typeName: "gateway.v1.StreamResponsesResponse", payload: asChatPayload(e.item) };
      if (r.done && e.seq >= log.lastSeq) return;
    }
  }

  /** Ends every response follower. */
  close(): void {
    this.#logs.close();
  }

  #agentFor(sessionId: string): string | undefined {
    const agents = [...this.#s.store.agents.values()].filter((a) => {
      if (a.liveness !== "healthy") return false;
      const caps = a.agent.capabilities?.supportedTasks ?? [];
      const bound = a.agent.metadata?.labels[SESSION_LABEL];
      return (
        caps.includes(CHAT_CAPABILITY) &&
        (bound === undefined || bound === sessionId) &&
        a.agent.type !== AgentType.GATEWAY
      );
    });
    // Agents bound to this session first, then the least busy.
    agents.sort(
      (a, b) =>
        Number(b.agent.metadata?.labels[SESSION_LABEL] === sessionId) -
          Number(a.agent.metadata?.labels[SESSION_LABEL] === sessionId) ||
        a.agent.activeTasks.length - b.agent.activeTasks.length,
    );
    return agents[0]?.agent.id;
  }

  /** Adds a finished reply to the gateway session's and the orchestrator session's history. */
  #remember(r: GatewayResponseRecord): void {
    const gs = this.#s.store.gatewaySessions.get(r.sessionId);
    if (!gs) return;
    const full = r.chunks.map((c) => c.text).join("");
    gs.messages.push(
      create(GatewayMessageSchema, {
        id: this.#s.id("gmsg"),
        timestamp: timestampFromMs(this.#s.now()),
        role: GatewayMessageRole.ASSISTANT,
        content: full,
        metadata: { sessionId: r.sessionId, correlationId: r.messageId },
      }),
    );
    trimTo(gs.messages, this.#s.settings.historySize);
    try {
      this.#messages.append(gs.session.orchestratorSessionId, {
        $typeName: "orchestrator.v1.Message",
        id: "",
        role: MessageRole.ASSISTANT,
        content: full,
      });
    } catch {
      // The orchestrator session may have closed meanwhile; the reply still completes.
    }
  }

  #status(r: GatewayResponseRecord, state: StreamState, message: string): void {
    const bytes = r.chunks.reduce((n, c) => n + Buffer.byteLength(c.text) + c.data.length, 0);
    this.#logs.get(r.messageId).append({
      status: create(StreamStatusSchema, {
        state,
        message,
        bytesSent: BigInt(bytes),
        chunksSent: BigInt(r.chunks.length),
        ...(r.done ? { endedAt: timestampFromMs(this.#s.now()) } : {}),
      }),
    });
  }

  #end(r: GatewayResponseRecord, outcome: "complete" | "cancelled" | "error", message: string): void {
    if (r.done) return;
    r.done = true;
    r.outcome = outcome;
    const state =
      outcome === "complete"
        ? StreamState.COMPLETE
        : outcome === "cancelled"
          ? StreamState.CANCELLED
          : StreamState.ERROR;
    this.#status(r, state, message);
    this.#s.emitGateway(
      outcome === "complete" ? GatewayEventType.STREAM_COMPLETE : GatewayEventType.STREAM_ERROR,
      r.sessionId,
      { outcome, message },
      { messageId: r.messageId },
    );
  }
}
