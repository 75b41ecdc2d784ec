import {
  type AgentMessage,
  AgentType,
  ControlCommand,
  type CreateGatewaySessionRequest,
  type GatewayEvent,
  type GatewayEventFilter,
  GatewayEventType,
  type GatewayMessage,
  GatewayMessageRole,
  GatewayMessageSchema,
  type GatewayService,
  GatewaySessionSchema,
  GatewaySessionState,
  Health,
  type ListGatewaySessionsRequest,
  MessageRole,
  MessageType,
  type ResponseChunk,
  ResponseChunkSchema,
  Status,
  type StreamChatRequest,
  type StreamChatResponse,
  type StreamResponsesRequest,
  type StreamResponsesResponse,
  StreamState,
  type StreamStatus,
  StreamStatusSchema,
  type SubscribeToEventsRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { serveBidi } from "./bidi.js";
import { SeqLog } from "./log.js";
import type { OrchestratorRules } from "./orchestrator-service.js";
import { type BaaahtState, invalid, labelsMatch, notFound, precondition } from "./state.js";
import { type GatewayResponseRecord, type GatewaySessionRecord, trimTo } from "./store.js";

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

/**
 * The rules of `gateway.v1.GatewayService`. A gateway session owns an orchestrator
 * session. A user message goes to an agent serving the session: a healthy agent whose
 * `supported_tasks` contains `chat` and whose `baaaht.gateway-session` label, if set, names
 * the session. It receives a DATA message (headers `gateway_session_id`, `message_id`) and
 * answers with DATA messages (header `in_reply_to` = the message id, `final` = `true` on the
 * last), over StreamAgent or SendMessage. Each reply becomes a ResponseChunk, in order,
 * the last with `is_final`.
 */
export class GatewayRules {
  readonly #s: BaaahtState;
  readonly #orch: OrchestratorRules;
  readonly #logs = new Map<string, SeqLog<ResponseItem>>();
  #activeStreams = 0;

  constructor(state: BaaahtState, orchestrator: OrchestratorRules) {
    this.#s = state;
    this.#orch = orchestrator;
  }

  /** The connect-es implementation. */
  impl(): ServiceImpl<typeof GatewayService> {
    return {
      createGatewaySession: (req) => this.createSession(req),
      getGatewaySession: (req) => ({ session: this.#session(req.sessionId).session }),
      listGatewaySessions: (req) => this.listSessions(req),
      closeGatewaySession: (req) => this.closeSession(req.sessionId, req.reason),
      gatewaySendMessage: (req) => {
        const { message } = this.submit(req.sessionId, req.message);
        return {
          messageId: message.id,
          sessionId: req.sessionId,
          ...(message.timestamp ? { timestamp: message.timestamp } : {}),
        };
      },
      streamChat: (reqs, ctx) => this.streamChat(reqs, ctx),
      streamResponses: (req, ctx) => this.streamResponses(req, ctx),
      subscribeToEvents: (req, ctx) => this.subscribeToEvents(req, ctx),
      healthCheck: () => ({
        health: Health.HEALTHY,
        version: "baton-server/baaaht 0.1.0",
        subsystems: ["sessions", "chat"],
      }),
      getStatus: () => ({
        status: Status.RUNNING,
        activeSessions: [...this.#s.store.gatewaySessions.values()].filter(
          (r) => r.session.state === GatewaySessionState.ACTIVE,
        ).length,
        activeStreams: this.#activeStreams,
        startedAt: timestampFromMs(this.#s.startedAtMs),
        uptime: timestampFromMs(this.#s.now() - this.#s.startedAtMs),
      }),
    };
  }

  createSession(req: CreateGatewaySessionRequest) {
    if (req.config && (req.config.timeoutNs < 0n || req.config.idleTimeoutNs < 0n || req.config.maxMessageSize < 0)) {
      throw invalid("config timeouts and max_message_size must not be negative");
    }
    const now = this.#s.now();
    const orch = this.#orch.createSession({
      $typeName: "orchestrator.v1.CreateSessionRequest",
      metadata: {
        $typeName: "orchestrator.v1.SessionMetadata",
        name: req.metadata?.name ?? "",
        description: req.metadata?.description ?? "",
        labels: { ...(req.metadata?.labels ?? {}), "baaaht.gateway": "true" },
        ownerId: req.metadata?.userId ?? "",
        tags: req.metadata?.tags ?? [],
      },
      config: {
        $typeName: "orchestrator.v1.SessionConfig",
        maxContainers: 0,
        maxDurationNs: req.config?.timeoutNs ?? 0n,
        idleTimeoutNs: req.config?.idleTimeoutNs ?? 0n,
        allowedImages: [],
      },
    });
    const id = this.#s.id("gw");
    const session = create(GatewaySessionSchema, {
      id,
      state: GatewaySessionState.ACTIVE,
      status: Status.RUNNING,
      createdAt: timestampFromMs(now),
      updatedAt: timestampFromMs(now),
      ...(orch.session.expiresAt ? { expiresAt: orch.session.expiresAt } : {}),
      metadata: req.metadata ?? {},
      config: req.config ?? { enableStreaming: true },
      orchestratorSessionId: orch.sessionId,
    });
    const rec: GatewaySessionRecord = { session, messages: [], lastActivityMs: now };
    this.#s.store.gatewaySessions.set(id, rec);
    this.#s.emitGateway(
      GatewayEventType.SESSION_CREATED,
      id,
      { orchestrator_session_id: orch.sessionId },
      { userId: session.metadata?.userId ?? "" },
    );
    return { sessionId: id, session };
  }

  #session(id: string): GatewaySessionRecord {
    if (!id) throw invalid("session_id is required");
    const rec = this.#s.store.gatewaySessions.get(id);
    if (!rec) throw notFound(`gateway session ${id} not found`);
    this.#sync(rec);
    return rec;
  }

  /** A gateway session closes when its orchestrator session does (e.g. it expired). */
  #sync(rec: GatewaySessionRecord): void {
    const orch = this.#s.store.sessions.get(rec.session.orchestratorSessionId)?.session;
    if (orch?.closedAt && rec.session.state !== GatewaySessionState.CLOSED) {
      rec.session.state = GatewaySessionState.CLOSED;
      rec.session.status = Status.STOPPED;
      rec.session.closedAt = orch.closedAt;
    }
  }

  #openSession(id: string): GatewaySessionRecord {
    const rec = this.#session(id);
    if (rec.session.state !== GatewaySessionState.ACTIVE) throw precondition(`gateway session ${id} is closed`);
    return rec;
  }

  listSessions(req: ListGatewaySessionsRequest) {
    const f = req.filter;
    const sessions = [...this.#s.store.gatewaySessions.values()]
      .map((r) => {
        this.#sync(r);
        return r.session;
      })
      .filter(
        (s) =>
          !f ||
          ((f.state === GatewaySessionState.UNSPECIFIED || s.state === f.state) &&
            (f.status === Status.UNSPECIFIED || s.status === f.status) &&
            (!f.userId || s.metadata?.userId === f.userId) &&
            labelsMatch(s.metadata?.labels ?? {}, f.labels)),
      );
    return { sessions, totalCount: sessions.length };
  }

  async closeSession(id: string, reason: string) {
    const rec = this.#session(id);
    if (rec.session.state !== GatewaySessionState.CLOSED) {
      rec.session.state = GatewaySessionState.CLOSED;
      rec.session.status = Status.STOPPED;
      rec.session.closedAt = timestampFromMs(this.#s.now());
      for (const r of this.#s.store.responses.values()) {
        if (r.sessionId === id && !r.done) this.#end(r, "cancelled", "gateway session closed");
      }
      await this.#orch.closeSession({
        $typeName: "orchestrator.v1.CloseSessionRequest",
        sessionId: rec.session.orchestratorSessionId,
        reason: reason || "gateway session closed",
      });
      this.#s.emitGateway(GatewayEventType.SESSION_CLOSED, id, { reason });
    }
    return { sessionId: id, state: rec.session.state };
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

  #log(messageId: string): SeqLog<ResponseItem> {
    let log = this.#logs.get(messageId);
    if (!log) {
      log = new SeqLog<ResponseItem>(10_000);
      this.#logs.set(messageId, log);
    }
    return log;
  }

  /** Records a user message, opens its response and routes it to an agent. */
  submit(
    sessionId: string,
    input: GatewayMessage | undefined,
  ): { message: GatewayMessage; response: GatewayResponseRecord } {
    const rec = this.#openSession(sessionId);
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
    rec.messages.push(message);
    trimTo(rec.messages, this.#s.settings.historySize);
    rec.lastActivityMs = this.#s.now();
    this.#orch.appendMessage(rec.session.orchestratorSessionId, {
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
    this.#log(message.id);
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

  #status(r: GatewayResponseRecord, state: StreamState, message: string): void {
    const bytes = r.chunks.reduce((n, c) => n + Buffer.byteLength(c.text) + c.data.length, 0);
    this.#log(r.messageId).append({
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

  /** Takes an agent's reply chunk; returns false for messages that are not chat replies. */
  onAgentMessage = (agentId: string, msg: AgentMessage): boolean => {
    if (msg.payload.case !== "dataMessage") return false;
    const dm = msg.payload.value;
    const replyTo = dm.headers[IN_REPLY_TO_HEADER] || msg.metadata?.correlationId || "";
    const r = this.#s.store.responses.get(replyTo);
    if (!r) return false;
    if (r.done || r.agentId !== agentId) return true;
    const isFinal = dm.headers[FINAL_HEADER] === "true";
    const text = new TextDecoder().decode(dm.data);
    const chunk = create(ResponseChunkSchema, {
      chunkId: `${r.messageId}:${r.chunks.length}`,
      sequence: r.chunks.length,
      text,
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
    this.#log(r.messageId).append({ chunk });
    this.#s.emitGateway(
      GatewayEventType.STREAM_CHUNK,
      r.sessionId,
      { sequence: String(chunk.sequence) },
      { messageId: r.messageId },
    );
    if (isFinal) {
      const full = r.chunks.map((c) => c.text).join("");
      const gs = this.#s.store.gatewaySessions.get(r.sessionId);
      if (gs) {
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
          this.#orch.appendMessage(gs.session.orchestratorSessionId, {
            $typeName: "orchestrator.v1.Message",
            id: "",
            role: MessageRole.ASSISTANT,
            content: full,
          });
        } catch {
          // The orchestrator session may have closed meanwhile; the reply still completes.
        }
      }
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
      heartbeat: chatHeartbeat,
      setup: (first, ctx) => {
        const sessionId = first.sessionId;
        this.#openSession(sessionId);
        this.#activeStreams++;
        ctx.signal.addEventListener("abort", () => this.#activeStreams--, { once: true });
        const inFlight = new Set<GatewayResponseRecord>();
        let halfClosed = false;
        const maybeFinish = () => {
          if (halfClosed && inFlight.size === 0) ctx.finish();
        };
        const follow = async (r: GatewayResponseRecord) => {
          for await (const e of this.#log(r.messageId).follow(0, ctx.signal)) {
            const item = e.item;
            await ctx.out.push({
              $typeName: "gateway.v1.StreamChatResponse",
              payload: "chunk" in item ? { case: "chunk", value: item.chunk } : { case: "status", value: item.status },
            });
            if (r.done && e.seq >= this.#log(r.messageId).lastSeq) break;
          }
          inFlight.delete(r);
          const gs = this.#s.store.gatewaySessions.get(sessionId);
          if (gs?.session.state === GatewaySessionState.CLOSED) {
            ctx.finish();
            return;
          }
          maybeFinish();
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
        return {
          onRequest: handle,
          onHalfClose: () => {
            halfClosed = true;
            maybeFinish();
          },
        };
      },
    });
  }

  /** StreamResponses: the chunks of one message's reply, replayed and followed until it ends. */
  async *streamResponses(req: StreamResponsesRequest, ctx: HandlerContext): AsyncGenerator<StreamResponsesResponse> {
    this.#session(req.sessionId);
    if (!req.messageId) throw invalid("message_id is required");
    const r = this.#s.store.responses.get(req.messageId);
    if (!r || r.sessionId !== req.sessionId)
      throw notFound(`no response to message ${req.messageId} in gateway session ${req.sessionId}`);
    const log = this.#log(r.messageId);
    if (r.done && log.lastSeq === 0) return;
    for await (const e of log.follow(0, ctx.signal)) {
      const item = e.item;
      yield {
        $typeName: "gateway.v1.StreamResponsesResponse",
        payload: "chunk" in item ? { case: "chunk", value: item.chunk } : { case: "status", value: item.status },
      };
      if (r.done && e.seq >= log.lastSeq) return;
    }
  }

  /** SubscribeToEvents: gateway events of a session (or all), replayed from start_time, then live. */
  async *subscribeToEvents(req: SubscribeToEventsRequest, ctx: HandlerContext): AsyncGenerator<GatewayEvent> {
    if (req.sessionId) this.#session(req.sessionId);
    const f = req.filter;
    const endMs = f?.endTime ? timestampMs(f.endTime) : undefined;
    const signals = [ctx.signal];
    if (endMs !== undefined) signals.push(AbortSignal.timeout(Math.max(0, endMs - this.#s.now())));
    const signal = AbortSignal.any(signals);
    const log = this.#s.gatewayEvents;
    const cursor = log.lastSeq;
    const match = (ev: GatewayEvent) =>
      (!req.sessionId || ev.metadata?.sessionId === req.sessionId) && (!f || matchesGatewayEvent(ev, f));
    if (f?.startTime) {
      for (const e of log.since(0, Number.MAX_SAFE_INTEGER)) {
        if (e.seq > cursor) break;
        if (match(e.item)) yield e.item;
      }
    }
    for await (const e of log.follow(cursor, signal)) {
      if (endMs !== undefined && e.item.timestamp && timestampMs(e.item.timestamp) > endMs) return;
      if (match(e.item)) yield e.item;
    }
  }

  /** Ends every response follower. */
  close(): void {
    for (const log of this.#logs.values()) log.close();
  }
}

/** Whether a gateway event matches every set field of the filter. */
export function matchesGatewayEvent(ev: GatewayEvent, f: GatewayEventFilter): boolean {
  if (f.type !== GatewayEventType.UNSPECIFIED && ev.type !== f.type) return false;
  if (f.source && ev.source !== f.source) return false;
  if (f.priority && ev.metadata?.priority !== f.priority) return false;
  if (!labelsMatch(ev.metadata?.labels ?? {}, f.labels)) return false;
  const t = ev.timestamp ? timestampMs(ev.timestamp) : 0;
  if (f.startTime && t < timestampMs(f.startTime)) return false;
  if (f.endTime && t > timestampMs(f.endTime)) return false;
  return true;
}
