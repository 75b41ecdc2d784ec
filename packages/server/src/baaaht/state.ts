import {
  type AgentMessage,
  AgentMessageSchema,
  type Event,
  EventSchema,
  type EventType,
  type GatewayEvent,
  GatewayEventSchema,
  type GatewayEventType,
  MessageType,
  Priority,
  type StreamMessageResponse,
} from "@baton/wire/baaaht";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { SeqLog } from "./log.js";
import type { ContainerRuntime } from "./runtime.js";
import type { BaaahtStore } from "./store.js";

/** Tunables of the baaaht module (settings `baaaht.<name>`). */
export interface BaaahtSettings {
  /** Missed-heartbeat window after which an agent is unhealthy; twice this, offline. Default 15000 ms. */
  agentHeartbeatTimeoutMs: number;
  /** How often the server sends heartbeat frames on open bidi streams. Default 15000 ms. */
  streamHeartbeatMs: number;
  /** Events kept in the ordered log. Default 10000. */
  eventLogSize: number;
  /** Messages kept per session history. Default 1000. */
  historySize: number;
}

/** Settings defaults. */
export const DEFAULT_BAAAHT_SETTINGS: BaaahtSettings = {
  agentHeartbeatTimeoutMs: 15_000,
  streamHeartbeatMs: 15_000,
  eventLogSize: 10_000,
  historySize: 1000,
};

/** Fields of a new orchestrator event. */
export interface EventInit {
  /** Component that caused it (`orchestrator`, `container-runtime`, `agent`...). */
  source: string;
  /** Session it is about. */
  sessionId?: string;
  /** Container it is about. */
  containerId?: string;
  /** Free-form data. */
  data?: Record<string, string>;
  /** Priority. Default NORMAL. */
  priority?: Priority;
  /** Labels (copied from the session or container). */
  labels?: Record<string, string>;
  /** Correlation id. */
  correlationId?: string;
  /** User id (the session owner). */
  userId?: string;
}

/**
 * What the baaaht services share: the store, the event logs, per-session and per-agent
 * feeds, the container runtime, the clock and the timers (all unref'd, all cleared on close).
 */
export class BaaahtState {
  /** The state. */
  readonly store: BaaahtStore;
  /** The container runtime. */
  readonly runtime: ContainerRuntime;
  /** The settings. */
  readonly settings: BaaahtSettings;
  /** Every orchestrator event, in order. */
  readonly events: SeqLog<Event>;
  /** Every gateway event, in order. */
  readonly gatewayEvents: SeqLog<GatewayEvent>;
  /** Messages and events for open StreamMessages calls, per session. */
  readonly sessionFeeds = new Map<string, SeqLog<StreamMessageResponse>>();
  /** Messages routed to each agent, per agent; `delivered` is the last seq its stream yielded. */
  readonly agentInboxes = new Map<string, { log: SeqLog<AgentMessage>; delivered: number }>();
  /** When the module started, Unix ms. */
  readonly startedAtMs: number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #intervals = new Set<NodeJS.Timeout>();
  readonly #logs = new Set<{ close(): void }>();
  readonly #now: () => number;
  #lastEventMs = 0;
  #ids = 0;
  #closed = false;

  constructor(store: BaaahtStore, runtime: ContainerRuntime, settings: BaaahtSettings, now: () => number = Date.now) {
    this.store = store;
    this.runtime = runtime;
    this.settings = settings;
    this.#now = now;
    this.startedAtMs = now();
    this.events = this.#track(new SeqLog<Event>(settings.eventLogSize));
    this.gatewayEvents = this.#track(new SeqLog<GatewayEvent>(settings.eventLogSize));
  }

  /** Whether the module is closing. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The clock, Unix ms. */
  now(): number {
    return this.#now();
  }

  /** A new unique id with a prefix, e.g. `sess-3f2a...`. */
  id(prefix: string): string {
    this.#ids++;
    return `${prefix}-${this.#ids.toString(36).padStart(4, "0")}${Math.random().toString(36).slice(2, 8)}`;
  }

  #track<T>(log: SeqLog<T>): SeqLog<T> {
    this.#logs.add(log);
    return log;
  }

  /** Event time: never earlier than the previous event's, so time order equals log order. */
  #eventTime(): number {
    this.#lastEventMs = Math.max(this.#lastEventMs, this.#now());
    return this.#lastEventMs;
  }

  /** Appends an orchestrator event to the log (and to its session's feed). */
  emit(type: EventType, init: EventInit): Event {
    const ev = create(EventSchema, {
      id: this.id("evt"),
      type,
      source: init.source,
      timestamp: timestampFromMs(this.#eventTime()),
      data: init.data ?? {},
      metadata: {
        sessionId: init.sessionId ?? "",
        containerId: init.containerId ?? "",
        labels: init.labels ?? {},
        priority: init.priority ?? Priority.NORMAL,
        correlationId: init.correlationId ?? "",
        userId: init.userId ?? "",
      },
    });
    this.events.append(ev);
    if (init.sessionId) this.sessionFeeds.get(init.sessionId)?.append(payloadEvent(ev));
    return ev;
  }

  /** Appends a gateway event. */
  emitGateway(
    type: GatewayEventType,
    sessionId: string,
    data: Record<string, string> = {},
    extra: { messageId?: string; userId?: string; labels?: Record<string, string> } = {},
  ): GatewayEvent {
    const ev = create(GatewayEventSchema, {
      id: this.id("gevt"),
      type,
      source: "gateway",
      timestamp: timestampFromMs(this.#eventTime()),
      data,
      metadata: {
        sessionId,
        messageId: extra.messageId ?? "",
        userId: extra.userId ?? "",
        labels: extra.labels ?? {},
        priority: Priority.NORMAL,
      },
    });
    this.gatewayEvents.append(ev);
    return ev;
  }

  /** The feed of a session's open streams (created on first use). */
  sessionFeed(sessionId: string): SeqLog<StreamMessageResponse> {
    let feed = this.sessionFeeds.get(sessionId);
    if (!feed) {
      feed = this.#track(new SeqLog<StreamMessageResponse>(this.settings.historySize));
      this.sessionFeeds.set(sessionId, feed);
    }
    return feed;
  }

  /** The inbox of an agent (created on first use). */
  agentInbox(agentId: string): { log: SeqLog<AgentMessage>; delivered: number } {
    let inbox = this.agentInboxes.get(agentId);
    if (!inbox) {
      inbox = { log: this.#track(new SeqLog<AgentMessage>(1000)), delivered: 0 };
      this.agentInboxes.set(agentId, inbox);
    }
    return inbox;
  }

  /** Routes a message to an agent's inbox (delivered over StreamAgent). */
  sendToAgent(agentId: string, init: MessageInitShape<typeof AgentMessageSchema>): AgentMessage {
    const msg = create(AgentMessageSchema, {
      id: this.id("amsg"),
      timestamp: timestampFromMs(this.now()),
      sourceId: "orchestrator",
      targetId: agentId,
      type: MessageType.DATA,
      ...init,
    });
    this.agentInbox(agentId).log.append(msg);
    return msg;
  }

  /** Runs `fn` at `atMs` under `key` (replacing an earlier timer with that key). Unref'd. */
  schedule(key: string, atMs: number, fn: () => void): void {
    this.cancel(key);
    if (this.#closed) return;
    const t = setTimeout(
      () => {
        this.#timers.delete(key);
        fn();
      },
      Math.max(0, Math.min(atMs - this.#now(), 2 ** 31 - 1)),
    );
    t.unref();
    this.#timers.set(key, t);
  }

  /** Cancels the timer with `key`. */
  cancel(key: string): void {
    const t = this.#timers.get(key);
    if (t) clearTimeout(t);
    this.#timers.delete(key);
  }

  /** Runs `fn` every `ms`. Unref'd; cleared on close. */
  every(ms: number, fn: () => void): void {
    if (this.#closed) return;
    const t = setInterval(fn, Math.max(5, ms));
    t.unref();
    this.#intervals.add(t);
  }

  /** Clears every timer and ends every follower. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    for (const t of this.#intervals) clearInterval(t);
    this.#intervals.clear();
    for (const log of this.#logs) log.close();
  }
}

/** Wraps an event as a StreamMessages response. */
export function payloadEvent(ev: Event): StreamMessageResponse {
  return { $typeName: "orchestrator.v1.StreamMessageResponse", payload: { case: "event", value: ev } };
}

/** INVALID_ARGUMENT. */
export function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

/** NOT_FOUND. */
export function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound);
}

/** FAILED_PRECONDITION. */
export function precondition(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

/** Nanoseconds (int64) to ms, rounding up so a tiny positive timeout is not 0. */
export function nsToMs(ns: bigint): number {
  if (ns <= 0n) return 0;
  return Number((ns + 999_999n) / 1_000_000n);
}

/** Whether every label of `want` is present with the same value in `have`. */
export function labelsMatch(have: Record<string, string>, want: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) return false;
  return true;
}
