import type { StreamCallOptions } from "@baton/core";
import { type Event, EventType, type OrchestratorService, Priority } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import { defined, type EnumInput, enumValue } from "./input.js";
import type { StreamSettings } from "./stream-settings.js";
import { type TimeWindow, timedSubscription } from "./timed-subscription.js";

/** What `events.subscribe()` takes: the wire EventFilter, with friendlier types. */
export interface SubscribeInput extends TimeWindow {
  /** Only events from this source (`"orchestrator"`, `"container-runtime"`...). */
  source?: string;
  /** Only events of this session. */
  sessionId?: string;
  /** Only events of this container. */
  containerId?: string;
  /** Only events with this priority (`"HIGH"`... or the enum value). */
  priority?: EnumInput<typeof Priority>;
  /** Only events carrying all these labels. */
  labels?: Record<string, string>;
  /** Only this event type (`"CONTAINER_CREATED"`... or the enum value). */
  type?: EnumInput<typeof EventType>;
}

/** The `events` resource: the orchestrator's event stream. */
export class Events {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Subscribes to orchestrator events matching the filter, as an `AsyncIterable`. A dropped
   * connection is resubscribed from the last event's time, and events already delivered
   * are dropped by id: no loss, no duplicates. Each iteration is a new subscription from
   * the same start (`since`, or the time `subscribe()` was called). `break` cancels;
   * `options.signal` cancels with `CanceledError`; `options.idleTimeoutMs` fails a stream
   * quiet for that long with `DeadlineExceededError`.
   *
   * @example
   * ```ts
   * for await (const ev of baaaht.events.subscribe({ sessionId, type: "CONTAINER_CREATED" })) console.log(ev.id);
   * ```
   * @throws {InvalidArgumentError} for an unknown type or priority name or an invalid time,
   *   when iterated.
   * @throws {BatonError} when the stream fails for good (not resumable, or
   *   `maxReconnectAttempts` consecutive reconnects failed).
   */
  subscribe(input: SubscribeInput = {}, options: StreamCallOptions = {}): AsyncIterable<Event> {
    const { since, until, type, priority, ...rest } = input;
    return timedSubscription(this.#settings, { since, until }, options, () => {
      const typeValue = enumValue(EventType, type, "event type");
      const priorityValue = enumValue(Priority, priority, "priority");
      const filter = { ...rest, ...defined({ type: typeValue, priority: priorityValue }) };
      return (range, call) => this.#raw.subscribeEvents({ filter: { ...filter, ...range } }, call);
    });
  }
}
