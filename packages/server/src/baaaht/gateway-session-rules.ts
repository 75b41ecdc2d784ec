import {
  type CreateGatewaySessionRequest,
  GatewayEventType,
  GatewaySessionSchema,
  GatewaySessionState,
  type ListGatewaySessionsRequest,
  Status,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { makeRoom } from "../retention.js";
import { exhausted, invalid, precondition } from "./errors.js";
import { labelsMatch } from "./labels.js";
import { lookup } from "./lookup.js";
import type { SessionRules } from "./session-rules.js";
import type { BaaahtState } from "./state.js";
import type { GatewaySessionRecord } from "./store.js";

/**
 * Gateway sessions of `gateway.v1.GatewayService`. Each one owns an orchestrator session
 * (labelled `baaaht.gateway=true`) that carries its chat history and its timeouts; the
 * gateway session closes when that session does (closed, or expired), and closing the
 * gateway session cancels the replies in flight (the closing listeners) and closes the
 * orchestrator session.
 */
export class GatewaySessionRules {
  readonly #s: BaaahtState;
  readonly #sessions: SessionRules;
  readonly #closing: Array<(sessionId: string) => void> = [];

  constructor(state: BaaahtState, sessions: SessionRules) {
    this.#s = state;
    this.#sessions = sessions;
  }

  /** Adds work that runs when a gateway session closes. */
  onClosing(listener: (sessionId: string) => void): void {
    this.#closing.push(listener);
  }

  /** How many gateway sessions are active. */
  get active(): number {
    return [...this.#s.store.gatewaySessions.values()].filter((r) => {
      this.#sync(r);
      return r.session.state === GatewaySessionState.ACTIVE;
    }).length;
  }

  /** @throws {ConnectError} INVALID_ARGUMENT for negative timeouts or message size. */
  create(req: CreateGatewaySessionRequest) {
    if (req.config && (req.config.timeoutNs < 0n || req.config.idleTimeoutNs < 0n || req.config.maxMessageSize < 0)) {
      throw invalid("config timeouts and max_message_size must not be negative");
    }
    const room = makeRoom(this.#s.store.gatewaySessions, this.#s.settings.maxSessions, (r) => {
      this.#sync(r);
      return r.session.state === GatewaySessionState.CLOSED;
    });
    if (!room)
      throw exhausted(
        `${this.#s.settings.maxSessions} gateway sessions are kept and none is closed (baaaht.maxSessions)`,
      );
    const now = this.#s.now();
    const orch = this.#sessions.create({
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
    return {
      /** The new gateway session id. */
      sessionId: id,
      /** The session as created, with its orchestrator session id. */
      session,
    };
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without an id, NOT_FOUND for an unknown one. */
  get(id: string): GatewaySessionRecord {
    const rec = lookup(this.#s.store.gatewaySessions, id, "session_id", "gateway session");
    this.#sync(rec);
    return rec;
  }

  /** An active gateway session. @throws {ConnectError} FAILED_PRECONDITION when it is closed. */
  getOpen(id: string): GatewaySessionRecord {
    const rec = this.get(id);
    if (rec.session.state !== GatewaySessionState.ACTIVE) throw precondition(`gateway session ${id} is closed`);
    return rec;
  }

  /** Gateway sessions matching every set field of the filter. */
  list(req: ListGatewaySessionsRequest) {
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
    return {
      /** The matching gateway sessions. */
      sessions,
      /** How many matched (the server does not page). */
      totalCount: sessions.length,
    };
  }

  /** Closes a gateway session and its orchestrator session (a no-op on a closed one). @throws {ConnectError} NOT_FOUND. */
  async close(id: string, reason: string) {
    const rec = this.get(id);
    if (rec.session.state !== GatewaySessionState.CLOSED) {
      rec.session.state = GatewaySessionState.CLOSED;
      rec.session.status = Status.STOPPED;
      rec.session.closedAt = timestampFromMs(this.#s.now());
      for (const l of this.#closing) l(id);
      await this.#sessions.close({
        $typeName: "orchestrator.v1.CloseSessionRequest",
        sessionId: rec.session.orchestratorSessionId,
        reason: reason || "gateway session closed",
      });
      this.#s.emitGateway(GatewayEventType.SESSION_CLOSED, id, { reason });
    }
    return {
      /** The session closed. */
      sessionId: id,
      /** Its state now: CLOSED. */
      state: rec.session.state,
    };
  }

  /** A gateway session closes when its orchestrator session does (e.g. it expired). */
  #sync(rec: GatewaySessionRecord): void {
    if (rec.session.state === GatewaySessionState.CLOSED) return;
    // A closed orchestrator session closes its gateway session; one forgotten by
    // retention (baaaht.maxSessions) was closed before it went.
    const orch = this.#s.store.sessions.get(rec.session.orchestratorSessionId);
    if (orch && !orch.session.closedAt) return;
    rec.session.state = GatewaySessionState.CLOSED;
    rec.session.status = Status.STOPPED;
    rec.session.closedAt = orch?.session.closedAt ?? timestampFromMs(this.#s.now());
  }
}
