import {
  type CloseSessionRequest,
  type Container,
  ContainerSchema,
  ContainerState,
  type CreateContainerRequest,
  type CreateSessionRequest,
  type Event,
  type EventFilter,
  EventType,
  type GetContainerRequest,
  Health,
  type ListContainersRequest,
  type ListSessionsRequest,
  type Message,
  MessageRole,
  MessageSchema,
  type OrchestratorService,
  type RemoveContainerRequest,
  type ResourceLimits,
  type SendMessageRequest,
  type Session,
  SessionSchema,
  SessionState,
  Status,
  type StopContainerRequest,
  type StreamMessageRequest,
  type StreamMessageResponse,
  type SubscribeEventsRequest,
  type UpdateSessionRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { KeyedMutex } from "../keyed-mutex.js";
import { serveBidi } from "./bidi.js";
import type { ContainerExit } from "./runtime.js";
import { type BaaahtState, invalid, labelsMatch, notFound, nsToMs, precondition } from "./state.js";
import { type SessionRecord, trimTo } from "./store.js";

/** Server version reported by the health and status RPCs. */
export const BAAAHT_SERVER_VERSION = "baton-server/baaaht 0.1.0";
/** Response header of GetStatus and HealthCheck naming the container runtime. */
export const CONTAINER_RUNTIME_HEADER = "baaaht-container-runtime";
/** StopContainer's timeout when the request gives none. */
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

const heartbeatResponse = (): StreamMessageResponse => ({
  $typeName: "orchestrator.v1.StreamMessageResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/**
 * The rules of `orchestrator.v1.OrchestratorService`: sessions with idle timeouts, max
 * durations and container limits; chat history delivered to every open stream; containers
 * with a real lifecycle on the configured runtime; and an ordered event log.
 *
 * Disallowed images are refused with PERMISSION_DENIED (the request is well formed, the
 * session's policy forbids it); too many containers or resources beyond the session's
 * limits with RESOURCE_EXHAUSTED; anything on a closed session with FAILED_PRECONDITION.
 */
export class OrchestratorRules {
  readonly #s: BaaahtState;
  readonly #locks = new KeyedMutex();
  /** Why a container is being stopped, so its exit event says so. */
  readonly #stopping = new Map<string, string>();

  constructor(state: BaaahtState) {
    this.#s = state;
  }

  /** The connect-es implementation. */
  impl(): ServiceImpl<typeof OrchestratorService> {
    return {
      createSession: (req) => this.createSession(req),
      getSession: (req) => ({ session: this.#session(req.sessionId).session }),
      listSessions: (req) => this.listSessions(req),
      updateSession: (req) => this.updateSession(req),
      closeSession: (req) => this.closeSession(req),
      sendMessage: (req) => this.sendMessage(req),
      streamMessages: (reqs, ctx) => this.streamMessages(reqs, ctx),
      createContainer: (req) => this.createContainer(req),
      getContainer: (req) => this.getContainer(req),
      listContainers: (req) => this.listContainers(req),
      stopContainer: (req) => this.stopContainer(req),
      removeContainer: (req) => this.removeContainer(req),
      subscribeEvents: (req, ctx) => this.subscribeEvents(req, ctx),
      healthCheck: (_req, ctx) => {
        ctx.responseHeader.set(CONTAINER_RUNTIME_HEADER, this.#s.runtime.kind);
        return {
          health: this.#s.closed ? Health.UNHEALTHY : Health.HEALTHY,
          version: BAAAHT_SERVER_VERSION,
          subsystems: ["sessions", "containers", "events", `container-runtime ${this.#s.runtime.description}`],
        };
      },
      getStatus: (_req, ctx) => {
        ctx.responseHeader.set(CONTAINER_RUNTIME_HEADER, this.#s.runtime.kind);
        const now = this.#s.now();
        const uptimeMs = now - this.#s.startedAtMs;
        return {
          status: this.#s.closed ? Status.STOPPING : Status.RUNNING,
          activeSessions: [...this.#s.store.sessions.values()].filter((r) => isOpen(r.session)).length,
          activeContainers: [...this.#s.store.containers.values()].filter(
            (r) => r.container.state === ContainerState.RUNNING,
          ).length,
          startedAt: timestampFromMs(this.#s.startedAtMs),
          // The contract types uptime as a Timestamp: it carries the duration since start.
          uptime: timestampFromMs(uptimeMs),
        };
      },
    };
  }

  #session(id: string): SessionRecord {
    if (!id) throw invalid("session_id is required");
    const rec = this.#s.store.sessions.get(id);
    if (!rec) throw notFound(`session ${id} not found`);
    return rec;
  }

  #openSession(id: string): SessionRecord {
    const rec = this.#session(id);
    if (!isOpen(rec.session)) {
      throw precondition(`session ${id} is ${SessionState[rec.session.state].toLowerCase()}`);
    }
    return rec;
  }

  /** Creates an ACTIVE session and schedules its expiry. */
  createSession(req: CreateSessionRequest) {
    const config = req.config;
    if (config) {
      if (config.maxContainers < 0) throw invalid("config.max_containers must not be negative");
      if (config.maxDurationNs < 0n) throw invalid("config.max_duration_ns must not be negative");
      if (config.idleTimeoutNs < 0n) throw invalid("config.idle_timeout_ns must not be negative");
      checkLimits(config.resourceLimits, "config.resource_limits");
    }
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
    this.#emitSession(EventType.SESSION_CREATED, session, {});
    return { sessionId: id, session };
  }

  #emitSession(type: EventType, session: Session, data: Record<string, string>): Event {
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

  /** Marks activity on a session (pushes its idle deadline). */
  touch(rec: SessionRecord): void {
    rec.lastActivityMs = this.#s.now();
    rec.session.updatedAt = timestampFromMs(rec.lastActivityMs);
    this.#scheduleExpiry(rec);
  }

  listSessions(req: ListSessionsRequest) {
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
    return { sessions, totalCount: sessions.length };
  }

  updateSession(req: UpdateSessionRequest) {
    const rec = this.#openSession(req.sessionId);
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
        const count = this.#containersOf(s.id).length;
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
    this.#emitSession(EventType.SESSION_UPDATED, s, { changed: changed.join(",") });
    return { session: s };
  }

  async closeSession(req: CloseSessionRequest) {
    const rec = this.#session(req.sessionId);
    if (rec.session.state === SessionState.CLOSED || rec.session.state === SessionState.CLOSING) {
      return { sessionId: rec.session.id, state: rec.session.state };
    }
    await this.#close(rec, req.reason || "closed by client", false);
    return { sessionId: rec.session.id, state: rec.session.state };
  }

  /** Closes a session: stops its containers, records why, ends its streams. */
  async #close(rec: SessionRecord, reason: string, expired: boolean): Promise<void> {
    const s = rec.session;
    if (!isOpen(s)) return;
    s.state = SessionState.CLOSING;
    s.status = Status.STOPPING;
    this.#s.cancel(`session:${s.id}`);
    for (const c of this.#containersOf(s.id)) {
      if (c.state === ContainerState.RUNNING) await this.#stop(c, 1000, "session closed");
    }
    const now = this.#s.now();
    s.state = SessionState.CLOSED;
    s.status = Status.STOPPED;
    s.closedAt = timestampFromMs(now);
    s.updatedAt = timestampFromMs(now);
    this.#emitSession(EventType.SESSION_CLOSED, s, { reason, expired: String(expired) });
  }

  /** Appends a message to a session's history and delivers it to every open stream. */
  appendMessage(sessionId: string, input: Message | undefined): Message {
    const rec = this.#openSession(sessionId);
    if (!input) throw invalid("message is required");
    const msg = create(MessageSchema, {
      ...input,
      id: input.id || this.#s.id("msg"),
      timestamp: input.timestamp ?? timestampFromMs(this.#s.now()),
      role: input.role === MessageRole.UNSPECIFIED ? MessageRole.USER : input.role,
    });
    const ctx = rec.session.context;
    if (ctx) {
      ctx.messages.push(msg);
      trimTo(ctx.messages, this.#s.settings.historySize);
    }
    this.touch(rec);
    this.#s
      .sessionFeed(sessionId)
      .append({ $typeName: "orchestrator.v1.StreamMessageResponse", payload: { case: "message", value: msg } });
    return msg;
  }

  sendMessage(req: SendMessageRequest) {
    const msg = this.appendMessage(req.sessionId, req.message);
    return { messageId: msg.id, sessionId: req.sessionId, ...(msg.timestamp ? { timestamp: msg.timestamp } : {}) };
  }

  /**
   * StreamMessages: the first request names the session. Every message appended to the
   * session afterwards (from any stream or SendMessage) and the session's events are
   * delivered; messages the client sends are appended. After the client half-closes, the
   * stream ends once its own messages were delivered back; it ends when the session closes.
   */
  streamMessages(reqs: AsyncIterable<StreamMessageRequest>, hctx: HandlerContext) {
    return serveBidi<StreamMessageRequest, StreamMessageResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      heartbeat: heartbeatResponse,
      setup: (first, ctx) => {
        const sessionId = first.sessionId;
        this.#openSession(sessionId);
        const feed = this.#s.sessionFeed(sessionId);
        let followed = feed.lastSeq;
        let lastOwn = 0;
        let halfClosed = false;
        const maybeFinish = () => {
          if (halfClosed && followed >= lastOwn) ctx.finish();
        };
        const handle = (req: StreamMessageRequest) => {
          if (req.sessionId && req.sessionId !== sessionId) {
            throw invalid(`this stream belongs to session ${sessionId}, not ${req.sessionId}`);
          }
          if (req.payload.case === "message") {
            this.appendMessage(sessionId, req.payload.value);
            lastOwn = feed.lastSeq;
          } else if (req.payload.case === "heartbeat") {
            ctx.out.tryPush(heartbeatResponse());
          }
        };
        ctx.spawn(
          (async () => {
            for await (const e of feed.follow(followed, ctx.signal)) {
              followed = e.seq;
              await ctx.out.push(e.item);
              if (e.item.payload.case === "event" && e.item.payload.value.type === EventType.SESSION_CLOSED) {
                ctx.finish();
                return;
              }
              maybeFinish();
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

  #containersOf(sessionId: string): Container[] {
    return [...this.#s.store.containers.values()].map((r) => r.container).filter((c) => c.sessionId === sessionId);
  }

  /** Creates a container in a session and starts it on the runtime. */
  async createContainer(req: CreateContainerRequest) {
    const config = req.config;
    if (!config) throw invalid("config is required");
    if (!config.image) throw invalid("config.image is required");
    checkLimits(config.resources, "config.resources");
    return this.#locks.run(req.sessionId || "-", async () => {
      const rec = this.#openSession(req.sessionId);
      const scfg = rec.session.context?.config;
      if (scfg && scfg.allowedImages.length > 0 && !imageAllowed(config.image, scfg.allowedImages)) {
        throw new ConnectError(
          `image ${config.image} is not allowed in session ${req.sessionId} (allowed: ${scfg.allowedImages.join(", ")})`,
          Code.PermissionDenied,
        );
      }
      const existing = this.#containersOf(req.sessionId);
      if (scfg && scfg.maxContainers > 0 && existing.length >= scfg.maxContainers) {
        throw new ConnectError(
          `session ${req.sessionId} already has ${existing.length} of max_containers ${scfg.maxContainers}`,
          Code.ResourceExhausted,
        );
      }
      const limits = scfg?.resourceLimits;
      if (limits) {
        const active = existing.filter((c) => c.state === ContainerState.CREATED || c.state === ContainerState.RUNNING);
        for (const key of ["nanoCpus", "memoryBytes", "pidsLimit"] as const) {
          if (limits[key] <= 0n) continue;
          const used = active.reduce((sum, c) => sum + (c.config?.resources?.[key] ?? 0n), 0n);
          const want = config.resources?.[key] ?? 0n;
          if (used + want > limits[key]) {
            throw new ConnectError(
              `session ${req.sessionId} resource limit ${key} is ${limits[key]}: ${used} in use, ${want} requested`,
              Code.ResourceExhausted,
            );
          }
        }
      }
      const id = this.#s.id("ctr");
      const container = create(ContainerSchema, {
        id,
        name: config.labels.name ?? id,
        image: config.image,
        state: ContainerState.CREATED,
        status: Status.STARTING,
        health: Health.UNKNOWN,
        createdAt: timestampFromMs(this.#s.now()),
        config,
        sessionId: req.sessionId,
      });
      this.#s.store.containers.set(id, { container });
      rec.session.containerIds.push(id);
      this.touch(rec);
      this.#emitContainer(EventType.CONTAINER_CREATED, container, { image: config.image });
      this.#s.runtime.start(id, config, (exit) =>
        this.#markExited(container, exit, this.#stopping.get(id) ?? "exited"),
      );
      if (container.state === ContainerState.CREATED) {
        container.state = ContainerState.RUNNING;
        container.status = Status.RUNNING;
        container.health = Health.HEALTHY;
        container.startedAt = timestampFromMs(this.#s.now());
        this.#emitContainer(EventType.CONTAINER_STARTED, container, { runtime: this.#s.runtime.kind });
      }
      return { containerId: id, container };
    });
  }

  #emitContainer(type: EventType, c: Container, data: Record<string, string>): void {
    const session = this.#s.store.sessions.get(c.sessionId)?.session;
    this.#s.emit(type, {
      source: "container-runtime",
      sessionId: c.sessionId,
      containerId: c.id,
      data: { state: ContainerState[c.state], ...data },
      labels: c.config?.labels ?? {},
      userId: session?.metadata?.ownerId ?? "",
    });
  }

  /** Records that a running (or just created) container ended. Idempotent. */
  #markExited(c: Container, exit: ContainerExit, reason: string): void {
    if (c.state !== ContainerState.RUNNING && c.state !== ContainerState.CREATED) return;
    c.state = ContainerState.EXITED;
    c.status = exit.error ? Status.ERROR : Status.STOPPED;
    c.health = exit.error ? Health.UNHEALTHY : Health.UNKNOWN;
    c.exitCode = exit.exitCode;
    c.exitedAt = timestampFromMs(this.#s.now());
    if (exit.error) this.#emitContainer(EventType.CONTAINER_ERROR, c, { error: exit.error });
    this.#emitContainer(EventType.CONTAINER_STOPPED, c, {
      exit_code: String(exit.exitCode),
      reason,
      ...(exit.signal ? { signal: exit.signal } : {}),
    });
    if (c.config?.removeOnStop) this.#remove(c);
  }

  async #stop(c: Container, timeoutMs: number, reason: string): Promise<void> {
    this.#stopping.set(c.id, reason);
    try {
      const exit = await this.#s.runtime.stop(c.id, timeoutMs);
      this.#markExited(c, exit ?? { exitCode: 0, signal: undefined, error: undefined }, reason);
    } finally {
      this.#stopping.delete(c.id);
    }
  }

  #remove(c: Container): void {
    if (!this.#s.store.containers.delete(c.id)) return;
    c.state = ContainerState.REMOVING;
    const session = this.#s.store.sessions.get(c.sessionId)?.session;
    if (session) session.containerIds = session.containerIds.filter((id) => id !== c.id);
    this.#emitContainer(EventType.CONTAINER_REMOVED, c, {});
  }

  #container(id: string): Container {
    if (!id) throw invalid("container_id is required");
    const rec = this.#s.store.containers.get(id);
    if (!rec) throw notFound(`container ${id} not found`);
    return rec.container;
  }

  getContainer(req: GetContainerRequest) {
    return { container: this.#container(req.containerId) };
  }

  listContainers(req: ListContainersRequest) {
    const f = req.filter;
    const containers = [...this.#s.store.containers.values()]
      .map((r) => r.container)
      .filter(
        (c) =>
          !f ||
          ((f.sessionId === "" || c.sessionId === f.sessionId) &&
            (f.state === ContainerState.UNSPECIFIED || c.state === f.state) &&
            (f.status === Status.UNSPECIFIED || c.status === f.status) &&
            labelsMatch(c.config?.labels ?? {}, f.labels)),
      );
    return { containers, totalCount: containers.length };
  }

  async stopContainer(req: StopContainerRequest) {
    const c = this.#container(req.containerId);
    if (req.timeoutNs < 0n) throw invalid("timeout_ns must not be negative");
    if (c.state === ContainerState.RUNNING) {
      await this.#stop(c, req.timeoutNs > 0n ? nsToMs(req.timeoutNs) : DEFAULT_STOP_TIMEOUT_MS, "stopped by client");
    }
    return { containerId: c.id, state: c.state };
  }

  async removeContainer(req: RemoveContainerRequest) {
    const c = this.#container(req.containerId);
    if (c.state === ContainerState.RUNNING) {
      if (!req.force) throw precondition(`container ${c.id} is running: stop it first or remove with force`);
      await this.#stop(c, 0, "removed with force");
    }
    this.#remove(c);
    return { containerId: c.id };
  }

  /**
   * SubscribeEvents: replays the logged events from `start_time` (inclusive) that match the
   * whole filter, then streams new ones live; ends at `end_time` if given.
   */
  async *subscribeEvents(req: SubscribeEventsRequest, ctx: HandlerContext): AsyncGenerator<Event> {
    const f = req.filter;
    const endMs = f?.endTime ? timestampMs(f.endTime) : undefined;
    const signals = [ctx.signal];
    if (endMs !== undefined) signals.push(AbortSignal.timeout(Math.max(0, endMs - this.#s.now())));
    const signal = AbortSignal.any(signals);
    const log = this.#s.events;
    const cursor = log.lastSeq;
    if (f?.startTime) {
      for (const e of log.since(0, Number.MAX_SAFE_INTEGER)) {
        if (e.seq > cursor) break;
        if (matchesEvent(e.item, f)) yield e.item;
      }
    }
    for await (const e of log.follow(cursor, signal)) {
      if (endMs !== undefined && e.item.timestamp && timestampMs(e.item.timestamp) > endMs) return;
      if (!f || matchesEvent(e.item, f)) yield e.item;
    }
  }

  /** Stops every running container (module close). */
  async close(): Promise<void> {
    await this.#s.runtime.close();
  }
}

function isOpen(s: Session): boolean {
  return s.state !== SessionState.CLOSED && s.state !== SessionState.CLOSING;
}

/** Whether `image` is in the allowed list: exact, or the same repository when an entry has no tag, or `*`. */
export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  const repo = image.replace(/[:@][^/]*$/, "");
  return allowed.some((a) => a === "*" || a === image || (!/[:@][^/]*$/.test(a) && a === repo));
}

function checkLimits(l: ResourceLimits | undefined, where: string): void {
  if (!l) return;
  for (const [k, v] of [
    ["nano_cpus", l.nanoCpus],
    ["memory_bytes", l.memoryBytes],
    ["memory_swap", l.memorySwap],
    ["pids_limit", l.pidsLimit],
  ] as const) {
    if (v < 0n && !(k === "memory_swap" && v === -1n)) throw invalid(`${where}.${k} must not be negative`);
  }
}

/** Whether an event matches every set field of the filter. */
export function matchesEvent(ev: Event, f: EventFilter): boolean {
  const m = ev.metadata;
  if (f.type !== EventType.UNSPECIFIED && ev.type !== f.type) return false;
  if (f.source && ev.source !== f.source) return false;
  if (f.sessionId && m?.sessionId !== f.sessionId) return false;
  if (f.containerId && m?.containerId !== f.containerId) return false;
  if (f.priority && m?.priority !== f.priority) return false;
  if (!labelsMatch(m?.labels ?? {}, f.labels)) return false;
  const t = ev.timestamp ? timestampMs(ev.timestamp) : 0;
  if (f.startTime && t < timestampMs(f.startTime)) return false;
  if (f.endTime && t > timestampMs(f.endTime)) return false;
  return true;
}
