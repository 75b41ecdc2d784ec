import type { Priority } from "@baton/wire/baaaht";
import { type Event, EventType, type OrchestratorService } from "@baton/wire/baaaht";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { resumableByTime, type StreamSettings, type TimeInput, toTimestamp } from "./shared.js";

/** What `events.subscribe()` takes: the wire EventFilter, with friendlier types and a signal. */
export interface SubscribeInput {
  /** Only events from this source. */
  source?: string;
  /** Only events of this session. */
  sessionId?: string;
  /** Only events of this container. */
  containerId?: string;
  /** Only events with this priority. */
  priority?: Priority;
  /** Only events carrying all these labels. */
  labels?: Record<string, string>;
  /** Only this event type (`"CONTAINER_CREATED"`... or the enum value). */
  type?: EventType | keyof typeof EventType;
  /** Replay logged events from this time (inclusive) before following live ones. Default: now (live only). */
  since?: TimeInput;
  /** End the stream at this time. */
  until?: TimeInput;
  /** Cancels the subscription. */
  signal?: AbortSignal;
}

/** The `events` resource. */
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
   * are dropped by id: no loss, no duplicates. `break` or the signal cancels.
   *
   * @throws {BatonError} when the stream fails for good (not resumable, or
   *   `maxReconnectAttempts` consecutive reconnects failed).
   */
  subscribe(input: SubscribeInput = {}): AsyncIterable<Event> {
    const { since, until, signal, type, ...rest } = input;
    const typeValue = typeof type === "string" ? EventType[type] : type;
    const start = since === undefined ? timestampNow() : toTimestamp(since);
    return resumableByTime<Event>(
      (from, sig) =>
        this.#raw.subscribeEvents(
          {
            filter: {
              ...rest,
              ...(typeValue !== undefined ? { type: typeValue } : {}),
              startTime: from,
              ...(until !== undefined ? { endTime: toTimestamp(until) } : {}),
            },
          },
          { signal: sig },
        ),
      start,
      this.#settings,
      signal,
    );
  }
}
