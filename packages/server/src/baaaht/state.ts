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
import { type Clock, systemClock } from "../clock.js";
import { SeqLog } from "./log.js";
import type { ContainerRuntime } from "./runtime.js";
import type { BaaahtSettings } from "./settings.js";
import type { BaaahtStore } from "./store.js";

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
 * feeds, the container runtime, the clock and the timers (on the clock, all cleared on
 * close), and whether the module is shutting down.
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
  readonly agentInboxes = new Map<
    string,
    {
      /** The messages routed to the agent, in order (the last 1000 kept). */
      log: SeqLog<AgentMessage>;
      /** Sequence number of the last message delivered over StreamAgent; a new stream resumes after it. */
      delivered: number;
    }
  >();
  /** When the module started, Unix ms. */
  readonly startedAtMs: number;
  /** Where the rules read the time and set their timers. */
  readonly clock: Clock;
  readonly #timers = new Map<string, () => void>();
  readonly #logs = new Set<{ close(): void; readonly followers: number }>();
  readonly #shutdownListeners: Array<() => void> = [];
  #openStreams = 0;
  #lastEventMs = 0;
  #ids = 0;
  #shuttingDown = false;
  #closed = false;

  constructor(store: BaaahtStore, runtime: ContainerRuntime, settings: BaaahtSettings, clock: Clock = systemClock) {
    this.store = store;
    this.runtime = runtime;
    this.settings = settings;
    this.clock = clock;
    this.startedAtMs = clock.now();
    this.events = this.#track(new SeqLog<Event>(settings.eventLogSize));
    this.gatewayEvents = this.#track(new SeqLog<GatewayEvent>(settings.eventLogSize));
  }

  /**
   * Debug counts of what the module holds for open streams: bidirectional calls being
   * served (StreamMessages, StreamAgent, StreamTask, StreamChat), and generators following
   * one of its logs (the event logs, session feeds, agent inboxes). Both return to their
   * baseline once the calls ended, however they ended.
   */
  get streams(): {
    /** Bidirectional calls being served now. */
    bidi: number;
    /** Generators following one of the module's logs now. */
    followers: number;
  } {
    let followers = 0;
    for (const log of this.#logs) followers += log.followers;
    return { bidi: this.#openStreams, followers };
  }

  /** Counts a bidirectional call as open until the returned function runs (once). */
  openStream(): () => void {
    this.#openStreams++;
    let open = true;
    return () => {
      if (open) this.#openStreams--;
      open = false;
    };
  }

  /** Whether the module is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the server is shutting down (from {@link beginShutdown} on, and once closed). */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks the module as going away and tells the shutdown listeners (health turns NOT_SERVING). Idempotent. */
  beginShutdown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const l of this.#shutdownListeners) l();
  }

  /** Calls `listener` when the module begins shutting down. */
  onShutdown(listener: () => void): void {
    this.#shutdownListeners.push(listener);
  }

  /** The clock, Unix ms. */
  now(): number {
    return this.clock.now();
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
    this.#lastEventMs = Math.max(this.#lastEventMs, this.now());
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

  /** Forgets a session's feed (the session is gone), ending its followers. */
  dropSessionFeed(sessionId: string): void {
    const feed = this.sessionFeeds.get(sessionId);
    if (!feed) return;
    feed.close();
    this.#logs.delete(feed);
    this.sessionFeeds.delete(sessionId);
  }

  /** Forgets an agent's inbox (the agent is gone), ending its stream's wait. */
  dropAgentInbox(agentId: string): void {
    const inbox = this.agentInboxes.get(agentId);
    if (!inbox) return;
    inbox.log.close();
    this.#logs.delete(inbox.log);
    this.agentInboxes.delete(agentId);
  }

  /** The inbox of an agent (created on first use). */
  agentInbox(agentId: string): {
    /** The messages routed to the agent, in order (the last 1000 kept). */
    log: SeqLog<AgentMessage>;
    /** Sequence number of the last message delivered over StreamAgent; a new stream resumes after it. */
    delivered: number;
  } {
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

  /** Runs `fn` at `atMs` (clock time) under `key`, replacing an earlier timer with that key. */
  schedule(key: string, atMs: number, fn: () => void): void {
    this.cancel(key);
    if (this.#closed) return;
    const cancel = this.clock.setTimer(() => {
      this.#timers.delete(key);
      fn();
    }, atMs - this.now());
    this.#timers.set(key, cancel);
  }

  /** Cancels the timer with `key`. */
  cancel(key: string): void {
    this.#timers.get(key)?.();
    this.#timers.delete(key);
  }

  /** Runs `fn` every `ms` (at least 5) under `key`, until close. */
  every(key: string, ms: number, fn: () => void): void {
    const period = Math.max(5, ms);
    const tick = () => {
      this.schedule(key, this.now() + period, tick);
      fn();
    };
    this.schedule(key, this.now() + period, tick);
  }

  /** Clears every timer and ends every follower. */
  close(): void {
    this.beginShutdown();
    this.#closed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    for (const log of this.#logs) log.close();
  }
}

/** Wraps an event as a StreamMessages response. */
export function payloadEvent(ev: Event): StreamMessageResponse {
  return { $typeName: "orchestrator.v1.StreamMessageResponse", payload: { case: "event", value: ev } };
}
