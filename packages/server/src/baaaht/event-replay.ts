import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Clock } from "../clock.js";
import type { SeqLog } from "./log.js";

/** What {@link replayThenFollow} streams. */
export interface ReplayOptions<T> {
  /** Which events the subscriber wants. */
  match(item: T): boolean;
  /** Replay the logged events from this time on (inclusive) before the live ones; none when unset. */
  start: Timestamp | undefined;
  /** End the stream at this time; never when unset. */
  end: Timestamp | undefined;
  /** When an event happened. */
  timeOf(item: T): Timestamp | undefined;
  /** Where `end` is waited for. */
  clock: Clock;
  /** The call's signal: the stream ends when it aborts. */
  signal: AbortSignal;
}

/**
 * An event subscription as both baaaht event rpcs serve it: with a start time, the logged
 * events that match (the filter checks their times), then every new matching event live;
 * at the end time (on the clock), or when the call ends, the stream ends.
 */
export async function* replayThenFollow<T>(log: SeqLog<T>, o: ReplayOptions<T>): AsyncGenerator<T> {
  const endMs = o.end ? timestampMs(o.end) : undefined;
  const ended = new AbortController();
  const cancelEnd = endMs === undefined ? undefined : o.clock.setTimer(() => ended.abort(), endMs - o.clock.now());
  const signal = AbortSignal.any([o.signal, ended.signal]);
  try {
    const cursor = log.lastSeq;
    if (o.start) {
      for (const e of log.since(0, Number.MAX_SAFE_INTEGER)) {
        if (e.seq > cursor) break;
        if (o.match(e.item)) yield e.item;
      }
    }
    for await (const e of log.follow(cursor, signal)) {
      const t = o.timeOf(e.item);
      if (endMs !== undefined && t && timestampMs(t) > endMs) return;
      if (o.match(e.item)) yield e.item;
    }
  } finally {
    cancelEnd?.();
  }
}
