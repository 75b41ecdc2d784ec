import { type Connection, connectCallOptions, required, type StreamCallOptions, streamOrThrow } from "@baton/core";
import {
  type EventType,
  type QuotaExceeded,
  QuotaExceededSchema,
  type RunnerEvent,
  type RunnerFailure,
  RunnerFailureSchema,
  type RunnerService,
  type RunnerStateChange,
  RunnerStateChangeSchema,
  type TranscriptAppended,
  TranscriptAppendedSchema,
} from "@baton/wire/stratavore";
import { createRegistry } from "@bufbuild/protobuf";
import { anyUnpack, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { surfaceErrorInfo } from "./errors.js";

/** Every payload type a RunnerEvent's `Any` may hold. */
const payloads = createRegistry(
  RunnerStateChangeSchema,
  RunnerFailureSchema,
  QuotaExceededSchema,
  TranscriptAppendedSchema,
);

/** A RunnerEvent's payload, unpacked to its message type. */
export type RunnerEventPayload = RunnerStateChange | RunnerFailure | QuotaExceeded | TranscriptAppended;

/** A runner event with its `Any` payload unpacked. */
export interface StratavoreEvent {
  /** `evt-<n>`: ordered. */
  id: string;
  /** What happened. */
  type: EventType;
  /** When. */
  timestamp: Date | undefined;
  /** The runner. */
  runnerId: string;
  /** Its project. */
  projectName: string;
  /** The payload, unpacked (check `payload.$typeName`), or undefined when there was none or its type is unknown. */
  payload: RunnerEventPayload | undefined;
  /** The event's metadata. */
  metadata: Record<string, string>;
  /** The event as it arrived. */
  raw: RunnerEvent;
}

/** What {@link Runners.events} follows. */
export interface EventFilter extends StreamCallOptions {
  /** Only this project's runners. */
  projectName?: string;
  /** Only this runner. */
  runnerId?: string;
  /** Only these types. */
  types?: EventType[];
  /** Replay the retained events after this id first. */
  afterEventId?: string;
  /** Replay every retained event first. */
  fromStart?: boolean;
  /** Consecutive reconnects without an event before giving up (default 10). */
  maxReconnects?: number;
}

/** The sequence number of an event id, where it has one. */
function seqOf(id: string): number | undefined {
  const m = /(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/** Unpacks an event. */
export function toStratavoreEvent(e: RunnerEvent): StratavoreEvent {
  const payload = e.payload ? (anyUnpack(e.payload, payloads) as RunnerEventPayload | undefined) : undefined;
  return {
    id: e.eventId,
    type: e.eventType,
    timestamp: e.timestamp ? timestampDate(e.timestamp) : undefined,
    runnerId: e.runnerId,
    projectName: e.projectName,
    payload,
    metadata: e.metadata,
    raw: e,
  };
}

/**
 * Follows StreamRunnerEvents: a dropped stream, or one the server ends (it never ends on its
 * own: the server went away), resumes after the last event seen (`after_event_id`), and an event at or below the last sequence number is dropped, so no
 * event is lost or repeated.
 */
export async function* followEvents(
  raw: Client<typeof RunnerService>,
  connection: Connection,
  filter: EventFilter,
): AsyncGenerator<StratavoreEvent> {
  const { signal, idleTimeoutMs, headers, maxReconnects } = filter;
  const stream = connection.resumable<RunnerEvent, string>({
    open: (cursor, sig) =>
      raw.streamRunnerEvents(
        {
          projectName: filter.projectName ?? "",
          runnerId: filter.runnerId ?? "",
          eventTypes: filter.types ?? [],
          afterEventId: cursor ?? filter.afterEventId ?? "",
          fromStart: cursor === undefined && (filter.fromStart ?? false),
        },
        connectCallOptions({
          signal: sig,
          ...(headers ? { headers } : {}),
          ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
        }),
      ),
    cursorAfter: (e) => e.eventId,
    // StreamRunnerEvents follows without an end: a clean end is the server going away.
    endless: true,
    ...(signal ? { signal } : {}),
    ...(maxReconnects === undefined ? {} : { maxReconnects }),
  });
  let last = Number.NEGATIVE_INFINITY;
  for await (const e of streamOrThrow(stream, surfaceErrorInfo)) {
    const seq = seqOf(required(e.eventId || undefined, "event_id"));
    if (seq !== undefined) {
      if (seq <= last) continue;
      last = seq;
    }
    yield toStratavoreEvent(e);
  }
}
