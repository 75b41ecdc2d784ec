import type { OrchestratorService } from "@baton/wire/baaaht";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ContainerRules } from "./container-rules.js";
import { matchesEvent } from "./event-filters.js";
import { replayThenFollow } from "./event-replay.js";
import type { MessageRules } from "./message-rules.js";
import type { SessionRules } from "./session-rules.js";
import type { BaaahtState } from "./state.js";
import type { StatusRules } from "./status-rules.js";
import { CONTAINER_RUNTIME_HEADER } from "./version.js";

/** The rules `orchestrator.v1.OrchestratorService` answers with. */
export interface OrchestratorParts {
  /** The shared baaaht state (clock, events, store). */
  state: BaaahtState;
  /** Session create, get, list, update, close. */
  sessions: SessionRules;
  /** SendMessage and StreamMessages. */
  messages: MessageRules;
  /** Container create, get, list, stop, remove. */
  containers: ContainerRules;
  /** HealthCheck and GetStatus. */
  status: StatusRules;
}

/**
 * `orchestrator.v1.OrchestratorService`: each rpc answered by the rules of its concept
 * (sessions, messages, containers, the event log, status). SubscribeEvents replays the
 * logged events from `start_time` (inclusive) that match the whole filter, then streams new
 * ones live, and ends at `end_time` if given. HealthCheck and GetStatus name the container
 * runtime in the `baaaht-container-runtime` response header.
 */
export function orchestratorService(p: OrchestratorParts): ServiceImpl<typeof OrchestratorService> {
  return {
    createSession: (req) => p.sessions.create(req),
    getSession: (req) => ({ session: p.sessions.get(req.sessionId).session }),
    listSessions: (req) => p.sessions.list(req),
    updateSession: (req) => p.sessions.update(req),
    closeSession: (req) => p.sessions.close(req),
    sendMessage: (req) => p.messages.send(req),
    streamMessages: (reqs, ctx) => p.messages.stream(reqs, ctx),
    createContainer: (req) => p.containers.create(req),
    getContainer: (req) => p.containers.get(req),
    listContainers: (req) => p.containers.list(req),
    stopContainer: (req) => p.containers.stop(req),
    removeContainer: (req) => p.containers.remove(req),
    subscribeEvents: (req, ctx) =>
      replayThenFollow(p.state.events, {
        match: (e) => !req.filter || matchesEvent(e, req.filter),
        start: req.filter?.startTime,
        end: req.filter?.endTime,
        timeOf: (e) => e.timestamp,
        clock: p.state.clock,
        signal: ctx.signal,
      }),
    healthCheck: (_req, ctx) => {
      ctx.responseHeader.set(CONTAINER_RUNTIME_HEADER, p.state.runtime.kind);
      return p.status.orchestratorHealth();
    },
    getStatus: (_req, ctx) => {
      ctx.responseHeader.set(CONTAINER_RUNTIME_HEADER, p.state.runtime.kind);
      return p.status.orchestratorStatus();
    },
  };
}
