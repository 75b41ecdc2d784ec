import {
  type CloseSessionRequest,
  type CreateSessionRequest,
  type Event,
  EventType,
  type ListSessionsRequest,
  type Session,
  SessionSchema,
  SessionState,
  Status,
  type UpdateSessionRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { makeRoom } from "../retention.js";
import { exhausted, invalid, precondition } from "./errors.js";
import { labelsMatch } from "./labels.js";
import { lookup } from "./lookup.js";
import { checkLimits } from "./resource-limits.js";
import type { BaaahtState } from "./state.js";
import type { SessionRecord } from "./store.js";
import { nsToMs } from "./time.js";

/** Whether a session still takes work (not closing, not closed). */
export function isOpen(s: Session): boolean {
  return s.state !== SessionState.CLOSED && s.state !== SessionState.CLOSING;
}

/** Work to do while a session closes (its containers stop), before it is CLOSED; nothing to await when there is none. */
export type SessionCloser = (sessionId: string) => Promise<void> | undefined;

/**
 * Sessions of `orchestrator.v1.OrchestratorService`: created ACTIVE, updated (metadata,
 * config, preferences; never the history), closed by the client or when they expire: at
 * `max_duration_ns` after creation or `idle_timeout_ns` after the last activity, whichever
 * comes first, on the clock. Closing stops the session's containers first; anything on a
 * closed session is FAILED_PRECONDITION. Every change is an event.
 */
export class SessionRules {
  readonly #s: BaaahtState;
  readonly #closers: SessionCloser[] = [];

  constructor(state: BaaahtState) {
    this.#s = state;
  }

  /** Adds work that runs while a session closes. */
  onClosing(closer: SessionCloser): void {
    this.#closers.push(closer);
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without an id, NOT_FOUND for an unknown one. */
  get(id: string): SessionRecord {
    return lookup(this.#s.store.sessions, id, "session_id", "session");
  }

  /** A session that still takes work. @throws {ConnectError} FAILED_PRECONDITION when it is closing or closed. */
  getOpen(id: string): SessionRecord {
    const rec = this.get(id);
    if (!isOpen(rec.session)) {
      throw precondition(`session ${id} is ${SessionState[rec.session.state].toLowerCase()}`);
    }
    return rec;
  }

  /** Creates an ACTIVE session and schedules its expiry. @throws {ConnectError} INVALID_ARGUMENT for a negative limit. */
  create(req: CreateSessionRequest) {
    const config = req.config;
    if (config) {
      if (config.maxContainers < 0) throw invalid("config.max_containers must not be negative");
      if (config.maxDurationNs < 0n) throw invalid("config.max_duration_ns must not be negative");
      if (config.idleTimeoutNs < 0n) throw invalid("config.idle_timeout_ns must not be negative");
      checkLimits(config.resourceLimits, "config.resource_limits");
    }
    const room = makeRoom(
      this.#s.store.sessions,
      this.#s.settings.maxSessions,
      (r) => r.session.state === SessionState.CLOSED,
      (sessionId) => this.#s.dropSessionFeed(sessionId),
    );
    if (!room)
      throw exhausted(`${this.#s.settings.maxSessions} sessions are kept and none is closed (baaaht.maxSessions)`);
    const now = this.#s.now();
    const id = this.#s.id("sess");
    const session = create(SessionSchema, {
      id,
      state: SessionState.ACTIVE,
      status: Status.RUNNING,
      createdAt: timestampFromMs(now),
      updatedAt: timestampFromMs(now),
      ...(req.metadata ? { metadata: req.metadata } : { metadata: {} }),
      context: { messages: [], ...(config ? { config } : {}) },
    });
    const rec: SessionRecord = { session, lastActivityMs: now };
    this.#s.store.sessions.set(id, rec);
    this.#s.sessionFeed(id);
    this.#scheduleExpiry(rec);
    this.#emit(EventType.SESSION_CREATED, session, {});
    return {
      /** The new session id. */
      sessionId: id,
      /** The session as created (ACTIVE). */
      session,
    };
  }

  /** Sessions matching every set field of the filter. */
  list(req: ListSessionsRequest) {
    const f = req.filter;
    const sessions = [...this.#s.store.sessions.values()]
      .map((r) => r.session)
      .filter(
        (s) =>
          !f ||
          ((f.state === SessionState.UNSPECIFIED || s.state === f.state) &&
            (f.status === Status.UNSPECIFIED || s.status === f.status) &&
            (f.ownerId === "" || s.metadata?.ownerId === f.ownerId) &&
            labelsMatch(s.metadata?.labels ?? {}, f.labels)),
      );
    return {
      /** The matching sessions. */
      sessions,
      /** How many matched (the server does not page). */
      totalCount: sessions.length,
    };
  }

  /**
   * Replaces metadata and context fields; the message history stays the session's own.
   *
   * @throws {ConnectError} FAILED_PRECONDITION for a closed session or a `max_containers`
   *   below the containers it has; INVALID_ARGUMENT for negative limits.
   */
  update(req: UpdateSessionRequest) {
    const rec = this.getOpen(req.sessionId);
    const s = rec.session;
    const changed: string[] = [];
    if (req.metadata) {
      s.metadata = req.metadata;
      changed.push("metadata");
    }
    if (req.context) {
      const ctx = s.context ?? create(SessionSchema).context;
      const c = req.context;
      if (c.config) {
        const count = s.containerIds.length;
        if (c.config.maxContainers < 0) throw invalid("context.config.max_containers must not be negative");
        if (c.config.maxContainers > 0 && c.config.maxContainers < count) {
          throw precondition(`session ${s.id} has ${count} containers, more than max_containers`);
        }
        checkLimits(c.config.resourceLimits, "context.config.resource_limits");
        changed.push("config");
      }
      s.context = {
        ...(ctx ?? { $typeName: "orchestrator.v1.SessionContext", messages: [], currentTaskId: "", taskHistory: [] }),
        ...(c.config ? { config: c.config } : {}),
        ...(c.preferences ? { preferences: c.preferences } : {}),
        ...(c.currentTaskId ? { currentTaskId: c.currentTaskId } : {}),
        ...(c.taskHistory.length ? { taskHistory: c.taskHistory } : {}),
        // The history belongs to SendMessage/StreamMessages; an update cannot rewrite it.
        messages: ctx?.messages ?? [],
      };
      changed.push("context");
    }
    this.touch(rec);
    this.#emit(EventType.SESSION_UPDATED, s, { changed: changed.join(",") });
    return {
      /** The session after the update. */
      session: s,
    };
  }

  /** Closes a session (a no-op on a closed one). @throws {ConnectError} NOT_FOUND for an unknown one. */
  async close(req: CloseSessionRequest) {
    const rec = this.get(req.sessionId);
    if (isOpen(rec.session)) await this.#close(rec, req.reason || "closed by client", false);
    return {
      /** The session closed. */
      sessionId: rec.session.id,
      /** Its state now: CLOSED. */
      state: rec.session.state,
    };
  }

  /** Marks activity on a session: its idle deadline starts again. */
  touch(rec: SessionRecord): void {
    rec.lastActivityMs = this.#s.now();
    rec.session.updatedAt = timestampFromMs(rec.lastActivityMs);
    this.#scheduleExpiry(rec);
  }

  #emit(type: EventType, session: Session, data: Record<string, string>): Event {
    return this.#s.emit(type, {
      source: "orchestrator",
      sessionId: session.id,
      data: { state: SessionState[session.state], ...data },
      labels: session.metadata?.labels ?? {},
      userId: session.metadata?.ownerId ?? "",
    });
  }

  /** When the session expires: the earlier of max duration and idle timeout, if any. */
  #deadline(rec: SessionRecord): number | undefined {
    const cfg = rec.session.context?.config;
    if (!cfg) return undefined;
    const created = rec.session.createdAt ? timestampMs(rec.session.createdAt) : rec.lastActivityMs;
    const candidates: number[] = [];
    if (cfg.maxDurationNs > 0n) candidates.push(created + nsToMs(cfg.maxDurationNs));
    if (cfg.idleTimeoutNs > 0n) candidates.push(rec.lastActivityMs + nsToMs(cfg.idleTimeoutNs));
    return candidates.length ? Math.min(...candidates) : undefined;
  }

  #scheduleExpiry(rec: SessionRecord): void {
    const deadline = this.#deadline(rec);
    const key = `session:${rec.session.id}`;
    if (deadline === undefined) {
      rec.session.expiresAt = undefined;
      this.#s.cancel(key);
      return;
    }
    rec.session.expiresAt = timestampFromMs(deadline);
    this.#s.schedule(key, deadline, () => {
      void this.#expire(rec.session.id);
    });
  }

  async #expire(id: string): Promise<void> {
    const rec = this.#s.store.sessions.get(id);
    if (!rec || !isOpen(rec.session)) return;
    const deadline = this.#deadline(rec);
    if (deadline === undefined) return;
    if (deadline > this.#s.now()) {
      this.#scheduleExpiry(rec);
      return;
    }
    const cfg = rec.session.context?.config;
    const created = rec.session.createdAt ? timestampMs(rec.session.createdAt) : 0;
    const byDuration = cfg && cfg.maxDurationNs > 0n && created + nsToMs(cfg.maxDurationNs) <= this.#s.now();
    await this.#close(rec, byDuration ? "max duration exceeded" : "idle timeout", true);
  }

  /** Closes a session: stops its containers, records why, ends its streams. */
  async #close(rec: SessionRecord, reason: string, expired: boolean): Promise<void> {
    const s = rec.session;
    if (!isOpen(s)) return;
    s.state = SessionState.CLOSING;
    s.status = Status.STOPPING;
    this.#s.cancel(`session:${s.id}`);
    for (const closer of this.#closers) {
      const work = closer(s.id);
      // Closing without work to wait for is synchronous: the session is CLOSED when close returns.
      if (work) await work;
    }
    const now = this.#s.now();
    s.state = SessionState.CLOSED;
    s.status = Status.STOPPED;
    s.closedAt = timestampFromMs(now);
    s.updatedAt = timestampFromMs(now);
    this.#emit(EventType.SESSION_CLOSED, s, { reason, expired: String(expired) });
  }
}
