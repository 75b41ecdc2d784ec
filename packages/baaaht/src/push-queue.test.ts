import { describe, expect, it } from "vitest";
import { PushQueue } from "./push-queue.js";

describe("PushQueue", () => {
  it("delivers pushed items in order and ends on close", async () => {
    const q = new PushQueue<number>();
    q.tryPush(1);
    q.tryPush(2);
    // Pushed after the consumer started waiting.
    setImmediate(() => {
      q.tryPush(3);
      q.close();
    });
    const got: number[] = [];
    for await (const n of q) got.push(n);
    expect(got).toEqual([1, 2, 3]);
    expect(q.tryPush(4)).toBe(false);
  });

  it("is bounded: tryPush refuses and push waits while full", async () => {
    const q = new PushQueue<number>({ capacity: 1 });
    expect(q.tryPush(1)).toBe(true);
    expect(q.tryPush(2)).toBe(false);
    let pushed = false;
    const p = q.push(2).then((ok) => {
      pushed = ok;
    });
    // A full turn of the event loop: the push is still waiting for room.
    await new Promise(setImmediate);
    expect(pushed).toBe(false);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(1);
    expect((await it.next()).value).toBe(2);
    await p;
    expect(pushed).toBe(true);
  });

  it("throws the close error after draining, and break closes the queue", async () => {
    const q = new PushQueue<number>();
    q.tryPush(1);
    q.close(new Error("boom"));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of q) got.push(n);
      })(),
    ).rejects.toThrow("boom");
    expect(got).toEqual([1]);
    const q2 = new PushQueue<number>();
    q2.tryPush(1);
    for await (const _ of q2) break;
    expect(q2.closed).toBe(true);
  });

  it("shift takes items without closing the queue", async () => {
    const q = new PushQueue<number>();
    q.tryPush(1);
    expect(await q.shift()).toEqual({ value: 1 });
    setImmediate(() => q.tryPush(2));
    expect(await q.shift()).toEqual({ value: 2 });
    expect(q.closed).toBe(false);
    q.close();
    expect(await q.shift()).toBeUndefined();
  });
});
