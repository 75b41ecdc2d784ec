import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { Notifier } from "./notifier.js";

describe("Notifier", () => {
  it("wakes waiters on publish and ends them with false when their signal aborts", async () => {
    const n = new Notifier();
    const ac = new AbortController();
    const woken = n.wait("run", 2, ac.signal);
    const aborted = Array.from({ length: 10 }, (_, i) => n.wait(`other-${i % 2}`, 1, ac.signal));
    n.publish("run", 2);
    expect(await woken).toBe(true);
    ac.abort();
    expect(await Promise.all(aborted)).toEqual(Array(10).fill(false));
    // A signal already aborted never waits.
    expect(await n.wait("again", 1, ac.signal)).toBe(false);
  });

  it("listens on a signal once, however many waits share it, and not after they all ended", async () => {
    const n = new Notifier();
    const ac = new AbortController();
    const waits = Array.from({ length: 50 }, (_, i) => n.wait(`t-${i}`, 1, ac.signal));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    for (let i = 0; i < 50; i++) n.publish(`t-${i}`, 1);
    expect(await Promise.all(waits)).toEqual(Array(50).fill(true));
    // The next wait on the same signal reuses the listener; aborting ends it and drops the listener.
    const later = n.wait("t-later", 1, ac.signal);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    expect(await later).toBe(false);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("closeAll wakes every waiter with false and refuses new waits", async () => {
    const n = new Notifier();
    const w = n.wait("x", 5);
    n.closeAll();
    expect(await w).toBe(false);
    expect(await n.wait("y", 1)).toBe(false);
  });
});
