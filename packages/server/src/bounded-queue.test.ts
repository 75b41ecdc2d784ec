import { describe, expect, it } from "vitest";
import { BoundedQueue } from "./bounded-queue.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("BoundedQueue", () => {
  it("delivers items in order, including ones pushed while the consumer waits, and ends on close", async () => {
    const q = new BoundedQueue<number>(8);
    q.tryPush(1);
    q.tryPush(2);
    setTimeout(() => {
      q.tryPush(3);
      q.close();
    }, 5);
    const got: number[] = [];
    for await (const n of q) got.push(n);
    expect(got).toEqual([1, 2, 3]);
    expect(q.tryPush(4)).toBe(false);
    expect(await q.push(4)).toBe(false);
  });

  it("is bounded: tryPush refuses and push waits while full, until the consumer takes one", async () => {
    const q = new BoundedQueue<number>(1);
    expect(q.tryPush(1)).toBe(true);
    expect(q.tryPush(2)).toBe(false);
    let pushed: boolean | undefined;
    const p = q.push(2).then((ok) => {
      pushed = ok;
    });
    await tick();
    expect(pushed).toBeUndefined();
    const it = q[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ done: false, value: 1 });
    await p;
    expect(pushed).toBe(true);
    expect(await it.next()).toEqual({ done: false, value: 2 });
  });

  it("treats a capacity below 1 as 1", () => {
    const q = new BoundedQueue<number>(0);
    expect(q.tryPush(1)).toBe(true);
    expect(q.tryPush(2)).toBe(false);
  });

  it("throws the close error to the consumer once the buffered items are drained", async () => {
    const q = new BoundedQueue<number>(8);
    q.tryPush(1);
    q.close(new Error("boom"));
    q.close(new Error("ignored: already closed"));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of q) got.push(n);
      })(),
    ).rejects.toThrow("boom");
    expect(got).toEqual([1]);
  });

  it("releases a waiting producer with false when closed", async () => {
    const q = new BoundedQueue<number>(1);
    q.tryPush(1);
    const p = q.push(2);
    await tick();
    q.close();
    expect(await p).toBe(false);
  });

  it("closes and drops what it held when the consumer stops iterating", async () => {
    const q = new BoundedQueue<number>(8);
    q.tryPush(1);
    q.tryPush(2);
    for await (const _ of q) break;
    expect(q.tryPush(3)).toBe(false);
    expect(await q.push(3)).toBe(false);
    const rest: number[] = [];
    for await (const n of q) rest.push(n);
    expect(rest).toEqual([]);
  });
});
