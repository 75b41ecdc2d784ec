import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type InvocationEvent, InvocationRunner, invocationPlan } from "./invocations.js";
import { MemoryPortariumStore } from "./store.js";

const request = (invocationId: string, machineId = "m-1") => ({
  schemaVersion: 1 as const,
  invocationId,
  machineId,
  workspaceId: "ws",
  action: "compile",
});

/** A sink that records what it receives. */
function recorder() {
  const got: { id: number; status: string; ratio: number | undefined }[] = [];
  let ended = 0;
  return {
    got,
    ended: () => ended,
    sink: {
      event(id: number, e: InvocationEvent) {
        got.push({ id, status: e.status, ratio: e.progressRatio });
      },
      end() {
        ended++;
      },
    },
  };
}

describe("invocationPlan", () => {
  it("goes accepted, running (rising progress), completed, spread over the duration", () => {
    const plan = invocationPlan("compile");
    expect(plan.map((s) => s.status)).toEqual(["accepted", "running", "running", "running", "completed"]);
    expect(plan[0]?.at).toBe(0);
    expect(plan.at(-1)).toMatchObject({ at: 1, progressRatio: 1 });
    for (let i = 1; i < plan.length; i++) {
      expect(plan[i]?.at).toBeGreaterThan(plan[i - 1]?.at ?? 1);
      expect(plan[i]?.progressRatio).toBeGreaterThan(plan[i - 1]?.progressRatio ?? 1);
    }
    expect(plan.map((s) => s.step)).toContain("compile");
  });
});

describe("InvocationRunner", () => {
  let store: MemoryPortariumStore;
  beforeEach(() => {
    vi.useFakeTimers();
    store = new MemoryPortariumStore();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const runner = (durationMs: number, onFinished?: () => void) =>
    new InvocationRunner(store, { durationMs, now: () => Date.now(), ...(onFinished ? { onFinished } : {}) });

  it("moves through the plan over the duration, keeping state and history in the store", () => {
    const finished = vi.fn();
    const r = runner(1000, finished);
    const rec = r.start("ws", "m-1", request("inv-1"), "http://x/inv-1");
    expect(rec.response.status).toBe("accepted");
    expect(r.running).toBe(1);
    vi.advanceTimersByTime(249);
    expect(store.invocations.get("ws", "inv-1")?.events).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(store.invocations.get("ws", "inv-1")?.response.status).toBe("running");
    vi.advanceTimersByTime(749);
    expect(store.invocations.get("ws", "inv-1")?.response.status).toBe("running");
    expect(finished).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    const done = store.invocations.get("ws", "inv-1");
    expect(done?.response.status).toBe("completed");
    expect(done?.response.outputArtifactUris).toBeUndefined();
    expect(done?.events.map((e) => e.progressRatio)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(finished).toHaveBeenCalledTimes(1);
    expect(r.running).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a late subscriber gets the history it missed, then live events, then the end", () => {
    const r = runner(1000);
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1");
    vi.advanceTimersByTime(600); // accepted, running 0.25, running 0.5
    const late = recorder();
    r.subscribe("ws", "inv-1", 0, late.sink);
    expect(late.got.map((g) => g.id)).toEqual([1, 2, 3]);
    expect(r.subscriptions).toBe(1);
    vi.advanceTimersByTime(400);
    expect(late.got.map((g) => g.id)).toEqual([1, 2, 3, 4, 5]);
    expect(late.got.map((g) => g.status)).toEqual(["accepted", "running", "running", "running", "completed"]);
    expect(late.ended()).toBe(1);
    expect(r.subscriptions).toBe(0);
  });

  it("resumes after an event id, and ends at once on a finished invocation", () => {
    const r = runner(100);
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1");
    vi.advanceTimersByTime(100);
    const after = recorder();
    const unsubscribe = r.subscribe("ws", "inv-1", 3, after.sink);
    expect(after.got.map((g) => g.id)).toEqual([4, 5]);
    expect(after.ended()).toBe(1);
    expect(r.subscriptions).toBe(0);
    unsubscribe();
    const beyond = recorder();
    r.subscribe("ws", "inv-1", 99, beyond.sink);
    expect(beyond.got).toEqual([]);
    expect(beyond.ended()).toBe(1);
  });

  it("unsubscribing stops delivery and leaves the invocation running", () => {
    const r = runner(1000);
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1");
    const a = recorder();
    const b = recorder();
    const stopA = r.subscribe("ws", "inv-1", 0, a.sink);
    r.subscribe("ws", "inv-1", 0, b.sink);
    expect(r.subscriptions).toBe(2);
    stopA();
    stopA();
    expect(r.subscriptions).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(a.got).toHaveLength(1);
    expect(a.ended()).toBe(0);
    expect(b.got).toHaveLength(5);
    expect(b.ended()).toBe(1);
  });

  it("failMachine fails only that machine's running invocations", () => {
    const finished = vi.fn();
    const r = runner(1000, finished);
    r.start("ws", "m-1", request("inv-1", "m-1"), "http://x/inv-1");
    r.start("ws", "m-2", request("inv-2", "m-2"), "http://x/inv-2");
    const watch = recorder();
    r.subscribe("ws", "inv-1", 0, watch.sink);
    vi.advanceTimersByTime(300);
    expect(r.failMachine("ws", "m-1", "machine gone")).toBe(1);
    expect(r.failMachine("ws", "m-1", "machine gone")).toBe(0);
    expect(store.invocations.get("ws", "inv-1")?.response).toMatchObject({ status: "failed", error: "machine gone" });
    expect(watch.got.map((g) => g.status)).toEqual(["accepted", "running", "failed"]);
    expect(watch.ended()).toBe(1);
    expect(r.running).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(store.invocations.get("ws", "inv-1")?.events.at(-1)?.status).toBe("failed");
    expect(store.invocations.get("ws", "inv-2")?.response.status).toBe("completed");
    expect(finished).toHaveBeenCalledTimes(2);
  });

  it("close clears every timer and ends every subscription", () => {
    const r = runner(60_000);
    for (let i = 0; i < 3; i++) r.start("ws", "m-1", request(`inv-${i}`), `http://x/inv-${i}`);
    const watch = recorder();
    r.subscribe("ws", "inv-0", 0, watch.sink);
    expect(vi.getTimerCount()).toBe(3);
    r.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(r.running).toBe(0);
    expect(r.subscriptions).toBe(0);
    expect(watch.ended()).toBe(1);
    expect(() => r.start("ws", "m-1", request("inv-9"), "http://x/inv-9")).toThrow("closed");
    const late = recorder();
    r.subscribe("ws", "inv-1", 0, late.sink);
    expect(late.ended()).toBe(1);
  });

  it("refuses a negative duration and unknown invocations", () => {
    expect(() => runner(-1)).toThrow(RangeError);
    expect(() => runner(0).subscribe("ws", "nope", 0, recorder().sink)).toThrow("no invocation");
  });
});
