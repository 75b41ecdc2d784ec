import type { GatewayService } from "@baton/wire/baaaht";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ChatRules } from "./chat-rules.js";
import { matchesGatewayEvent } from "./event-filters.js";
import { replayThenFollow } from "./event-replay.js";
import type { GatewaySessionRules } from "./gateway-session-rules.js";
import type { BaaahtState } from "./state.js";
import type { StatusRules } from "./status-rules.js";

/** The rules `gateway.v1.GatewayService` answers with. */
export interface GatewayParts {
  /** The shared baaaht state (clock, events, store). */
  state: BaaahtState;
  /** Gateway session create, get, list, close. */
  sessions: GatewaySessionRules;
  /** Chat: messages routed to agents and their replies. */
  chat: ChatRules;
  /** HealthCheck and GetStatus. */
  status: StatusRules;
}

/**
 * `gateway.v1.GatewayService`: gateway sessions, chat (GatewaySendMessage, StreamChat,
 * StreamResponses), the gateway event log (SubscribeToEvents: a session's events, or all,
 * replayed from `start_time`, then live, until `end_time`), and status.
 */
export function gatewayService(p: GatewayParts): ServiceImpl<typeof GatewayService> {
  return {
    createGatewaySession: (req) => p.sessions.create(req),
    getGatewaySession: (req) => ({ session: p.sessions.get(req.sessionId).session }),
    listGatewaySessions: (req) => p.sessions.list(req),
    closeGatewaySession: (req) => p.sessions.close(req.sessionId, req.reason),
    gatewaySendMessage: (req) => {
      const { message } = p.chat.submit(req.sessionId, req.message);
      return {
        messageId: message.id,
        sessionId: req.sessionId,
        ...(message.timestamp ? { timestamp: message.timestamp } : {}),
      };
    },
    streamChat: (reqs, ctx) => p.chat.streamChat(reqs, ctx),
    streamResponses: (req, ctx) => p.chat.streamResponses(req, ctx),
    subscribeToEvents: async function* (req, ctx) {
      if (req.sessionId) p.sessions.get(req.sessionId);
      const f = req.filter;
      yield* replayThenFollow(p.state.gatewayEvents, {
        match: (ev) =>
          (!req.sessionId || ev.metadata?.sessionId === req.sessionId) && (!f || matchesGatewayEvent(ev, f)),
        start: f?.startTime,
        end: f?.endTime,
        timeOf: (ev) => ev.timestamp,
        clock: p.state.clock,
        signal: ctx.signal,
      });
    },
    healthCheck: () => p.status.gatewayHealth(),
    getStatus: () => p.status.gatewayStatus(),
  };
}
