import type { StreamCallOptions } from "@baton/core";
import { type Timestamp, timestampNow } from "@bufbuild/protobuf/wkt";
import type { CallOptions as ConnectCallOptions } from "@connectrpc/connect";
import { deferred } from "./deferred.js";
import { resumeByTime } from "./resume.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";
import { type TimeInput, toTimestamp } from "./time.js";

/** The time window of an event subscription. */
export interface TimeWindow {
  /** Replay logged events from this time (inclusive). Default: when the subscription was made. */
  since?: TimeInput | undefined;
  /** End the stream at this time. */
  until?: TimeInput | undefined;
}

/** The wire's time range of one attempt: from the resume point, to the window's end. */
export interface TimeRange {
  /** Where this attempt starts. */
  startTime: Timestamp;
  /** Where the stream ends, when the window has an end. */
  endTime?: Timestamp;
}

/**
 * An event subscription (SubscribeEvents, SubscribeToEvents) as an `AsyncIterable`, resumed
 * by time without loss or duplicates, also after a clean end when the window has no end (the
 * server restarted). The start defaults to now, taken here, so every
 * iteration starts at the same time. `prepare` runs at each iteration (it validates the
 * filter, so a bad one fails the iteration, not the call) and returns how to open one attempt.
 */
export function timedSubscription<T extends { id: string; timestamp?: Timestamp | undefined }>(
  settings: StreamSettings,
  window: TimeWindow,
  options: StreamCallOptions,
  prepare: () => (range: TimeRange, call: ConnectCallOptions) => AsyncIterable<T>,
): AsyncIterable<T> {
  const subscribedAt = timestampNow();
  return deferred(() => {
    const start = window.since === undefined ? subscribedAt : toTimestamp(window.since, "since");
    const endTime = window.until === undefined ? undefined : toTimestamp(window.until, "until");
    const open = prepare();
    return resumeByTime(
      settings,
      start,
      (from, signal) => open({ startTime: from, ...(endTime ? { endTime } : {}) }, streamCall(options, signal)),
      options.signal,
      // With no end time the subscription never ends: a clean end is a server going away.
      endTime === undefined,
    );
  });
}
