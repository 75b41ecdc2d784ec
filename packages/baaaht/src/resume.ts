import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { StreamSettings } from "./stream-settings.js";

/**
 * A server stream of items with ids and times, resumed after a dropped connection from the
 * last item's time; items already delivered are dropped by id (the resume is inclusive).
 * Each iteration starts afresh from `start`. An `endless` stream (a subscription with no end
 * time) is resumed after a clean end too: the server went away (a restart).
 *
 * @throws {BatonError} when the stream fails for good.
 */
export function resumeByTime<T extends { id: string; timestamp?: Timestamp | undefined }>(
  settings: StreamSettings,
  start: Timestamp,
  open: (from: Timestamp, signal: AbortSignal) => AsyncIterable<T>,
  signal: AbortSignal | undefined,
  endless: boolean,
): AsyncIterable<T> {
  return settings.resumable<T, Timestamp>({
    open: (cursor, sig) => open(cursor ?? start, sig),
    cursorAfter: (item) => item.timestamp ?? start,
    keyOf: (item) => item.id,
    endless,
    ...(signal ? { signal } : {}),
  });
}

interface Positioned<T> {
  pos: number;
  item: T;
}

async function* from<T>(items: AsyncIterable<T>, first: number): AsyncGenerator<Positioned<T>> {
  let pos = 0;
  for await (const item of items) {
    if (pos >= first) yield { pos, item };
    pos++;
  }
}

/**
 * A server stream that replays everything from the start each time it is opened (a task's
 * updates, a reply's chunks), resumed after a dropped connection by skipping as many items
 * as were already delivered.
 *
 * @throws {BatonError} when the stream fails for good.
 */
export function resumeByPosition<T>(
  settings: StreamSettings,
  open: (signal: AbortSignal) => AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  const positioned = settings.resumable<Positioned<T>, number>({
    open: (cursor, sig) => from(open(sig), cursor ?? 0),
    cursorAfter: (p) => p.pos + 1,
    ...(signal ? { signal } : {}),
  });
  return {
    async *[Symbol.asyncIterator]() {
      for await (const p of positioned) yield p.item;
    },
  };
}

async function* unlessRepeated<T>(items: AsyncIterable<T>, last: T | undefined): AsyncGenerator<T> {
  let first = true;
  for await (const item of items) {
    if (!(first && last !== undefined && item === last)) yield item;
    first = false;
  }
}

/**
 * A server stream of states that starts with the current one (a health watch), resumed
 * after a dropped connection or a clean end (a watch never ends: the server went away);
 * the reopened stream's first state is dropped when it is the one last delivered, so only
 * changes come through.
 *
 * @throws {BatonError} when the stream fails for good.
 */
export function resumeLatest<T>(
  settings: StreamSettings,
  open: (signal: AbortSignal) => AsyncIterable<T>,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  return settings.resumable<T, T>({
    open: (last, sig) => unlessRepeated(open(sig), last),
    cursorAfter: (item) => item,
    endless: true,
    ...(signal ? { signal } : {}),
  });
}
