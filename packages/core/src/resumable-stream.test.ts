import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type BufferedIterator, takeBuffered, takeFrom } from "./buffered.js";
import { CanceledError, Code, InternalError, UnavailableError } from "./errors.js";
import { resumableStream } from "./resumable-stream.js";

/**
 * A fake transport stream that receives `batches` of ids (each batch "arrives" on the next
 * turn) and holds them: it hands held ones out through takeBuffered, the rest, the end and
 * the failure (`failAfter`: once its batches are spent) through next().
 */
function batchedStream(batches: number[][], failAfter?: Error): BufferedIterator<{ id: number }> & { takes: number } {
  const held: number[] = [];
  let next = 0;
  const arrive = async () => {
    await new Promise((r) => setImmediate(r));
    if (next < batches.length) held.push(...(batches[next++] as number[]));
  };
  return {
    takes: 0,
    [takeBuffered]() {
      const id = held.shift();
      if (id === undefined) return undefined;
      this.takes++;
      return { done: false, value: { id } };
    },
    async next() {
      if (held.length === 0) await arrive();
      const id = held.shift();
      if (id !== undefined) return { done: false, value: { id } };
      if (failAfter) throw failAfter;
      return { done: true, value: undefined };
    },
  };
}

/** A fake server log of n items; each connection drops after `dropAfter` items. */
function flakyLog(n: number, dropAfter: number, overlap = 0) {
  const opens: Array<number | undefined> = [];
  return {
    opens,
    open: (cursor: number | undefined) => {
      opens.push(cursor);
      // Resume `overlap` items early, as a time-based cursor would.
      const start = Math.max(1, (cursor ?? 1) - overlap);
      return (async function* () {
        let sent = 0;
        for (let id = start; id <= n; id++) {
          if (sent++ === dropAfter) throw new ConnectError("connection reset", Code.Unavailable);
          yield { id };
        }
      })();
    },
  };
}

describe("resumableStream", () => {
  it("takes the items a stream holds at once, drops duplicates among them, and gets the end and failures by next()", async () => {
    const drop = new ConnectError("connection reset", Code.Unavailable);
    const streams = [
      batchedStream(
        [
          [1, 2, 3],
          [4, 5, 6, 7],
        ],
        drop,
      ),
      // The resumed stream starts before the cursor: 6 and 7 again, in a batch with new ids.
      batchedStream([[6, 7, 8, 9], [10]]),
    ];
    const opens: Array<number | undefined> = [];
    const s = resumableStream<{ id: number }, number>({
      open: (cursor) => {
        opens.push(cursor);
        return { [Symbol.asyncIterator]: () => streams[opens.length - 1] as BufferedIterator<{ id: number }> };
      },
      cursorAfter: (x) => x.id + 1,
      keyOf: (x) => String(x.id),
      backoff: { initialBackoffMs: 0 },
    });
    // Read as a layer on top reads: next(), then every item the resumable stream holds.
    const it = s[Symbol.asyncIterator]();
    const got: number[] = [];
    let taken = 0;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      got.push(r.value.id);
      for (let t = takeFrom(it); t !== undefined; t = takeFrom(it)) {
        got.push(t.value.id);
        taken++;
      }
    }
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(opens).toEqual([undefined, 8]);
    // Of each batch, all but the first item were taken without a next().
    expect(taken).toBe(2 + 3 + 1);
    expect(streams[0]?.takes).toBe(5);
    // After the end, nothing is held and next() stays done.
    expect(takeFrom(it)).toBeUndefined();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it("resumes after drops with no loss and no duplicates", async () => {
    const log = flakyLog(20, 3, 2);
    const got: number[] = [];
    const s = resumableStream({
      open: log.open,
      cursorAfter: (x) => x.id + 1,
      keyOf: (x) => String(x.id),
      backoff: { initialBackoffMs: 0 },
    });
    for await (const x of s) got.push(x.id);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // The cursor moves past re-sent items too; they are dropped by key, not delivered.
    expect(log.opens.slice(0, 3)).toEqual([undefined, 4, 5]);
  });

  it("takes a second next() during a reconnect's backoff after it: one attempt at a time, items in order", async () => {
    const log = flakyLog(6, 2);
    const s = resumableStream({
      open: log.open,
      cursorAfter: (x) => x.id + 1,
      backoff: { initialBackoffMs: 20, jitter: 0 },
    })[Symbol.asyncIterator]();
    expect((await s.next()).value).toEqual({ id: 1 });
    expect((await s.next()).value).toEqual({ id: 2 });
    // The third ask hits the drop and backs off; the fourth is asked meanwhile.
    const [a, b] = await Promise.all([s.next(), s.next()]);
    expect([a.value, b.value]).toEqual([{ id: 3 }, { id: 4 }]);
    expect(log.opens).toEqual([undefined, 3]);
    await s.return?.();
  });

  it("gives up after maxReconnects failures without progress", async () => {
    let opens = 0;
    const s = resumableStream({
      open: () => {
        opens++;
        return (async function* () {
          yield* [];
          throw new ConnectError("down", Code.Unavailable);
        })();
      },
      cursorAfter: () => 0,
      maxReconnects: 3,
      backoff: { initialBackoffMs: 0 },
    });
    await expect(s[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(UnavailableError);
    expect(opens).toBe(4);
  });

  it("does not resume non-transient failures", async () => {
    const s = resumableStream({
      open: () =>
        (async function* () {
          yield* [];
          throw new ConnectError("bug", Code.Internal);
        })(),
      cursorAfter: () => 0,
    });
    await expect(s[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(InternalError);
  });

  it("stops the underlying stream on break and throws CanceledError on abort", async () => {
    let closed = 0;
    const open = (_: unknown, signal: AbortSignal) =>
      (async function* () {
        try {
          for (let i = 1; ; i++) {
            if (signal.aborted) return;
            yield { id: i };
            await new Promise((r) => setTimeout(r, 1));
          }
        } finally {
          closed++;
        }
      })();
    for await (const x of resumableStream({ open, cursorAfter: (x: { id: number }) => x.id + 1 })) {
      if (x.id === 3) break;
    }
    expect(closed).toBe(1);
    const c = new AbortController();
    const it = resumableStream({ open, cursorAfter: (x: { id: number }) => x.id + 1, signal: c.signal })[
      Symbol.asyncIterator
    ]();
    await it.next();
    c.abort();
    await expect(it.next()).rejects.toBeInstanceOf(CanceledError);
  });

  it("resumes an endless stream after a clean end, from the cursor, and gives up after maxReconnects empty ends", async () => {
    const opens: Array<number | undefined> = [];
    // Each connection sends two items and ends cleanly, as a server going away quietly does.
    const s = resumableStream({
      open: (cursor: number | undefined) => {
        opens.push(cursor);
        const start = cursor ?? 1;
        return (async function* () {
          for (let id = start; id < start + 2 && id <= 5; id++) yield { id };
        })();
      },
      cursorAfter: (x) => x.id + 1,
      endless: true,
      maxReconnects: 2,
      backoff: { initialBackoffMs: 0 },
    });
    const got: number[] = [];
    const it = s[Symbol.asyncIterator]();
    let end: unknown;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value.id);
    } catch (err) {
      end = err;
    }
    expect(got).toEqual([1, 2, 3, 4, 5]);
    // After 5 the connections end with nothing: two more tries, then a retryable UNAVAILABLE.
    expect(opens).toEqual([undefined, 3, 5, 6, 6]);
    expect(end).toBeInstanceOf(UnavailableError);
    // Without `endless`, a clean end is the end.
    const once = resumableStream({
      open: () =>
        (async function* () {
          yield { id: 1 };
        })(),
      cursorAfter: (x) => x.id + 1,
    });
    const items: number[] = [];
    for await (const x of once) items.push(x.id);
    expect(items).toEqual([1]);
  });

  it("counts a reconnect that brings only items already delivered as no progress", async () => {
    let opens = 0;
    // Every connection resends item 1 and ends: an endless stream that makes no progress.
    const s = resumableStream({
      open: () => {
        opens++;
        return (async function* () {
          yield { id: 1 };
        })();
      },
      cursorAfter: (x) => x.id,
      keyOf: (x) => String(x.id),
      endless: true,
      maxReconnects: 3,
      backoff: { initialBackoffMs: 0 },
    });
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const x of s) got.push(x.id);
      })(),
    ).rejects.toBeInstanceOf(UnavailableError);
    expect(got).toEqual([1]);
    expect(opens).toBe(4);
  });
});
