import { beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../clock.js";
import { invocationPlan } from "./invocation-plan.js";
import { type InvocationEvent, InvocationRunner } from "./invocation-runner.js";
import { MemoryPortariumStore } from "./store.js";

const request = (invocationId: string, machineId = "m-1") => ({
  schemaVersion: 1 as const,
  invocationId,
  machineId,
  workspaceId: "ws",
  action: "compile",
});
const plan = invocationPlan(request("any"));

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

describe("InvocationRunner", () => {
  let store: MemoryPortariumStore;
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryPortariumStore();
  });
  const runner = (durationMs: number, onFinished?: () => void) =>
    new InvocationRunner(store, { durationMs, clock, ...(onFinished ? { onFinished } : {}) });

  it("moves through the plan over the duration, keeping state and history in the store", () => {
    const finished = vi.fn();
    const r = runner(1000, finished);
    const rec = r.start("ws", "m-1", request("inv-1"), "http://x/inv-1", plan);
    expect(rec.response.status).toBe("accepted");
    expect(r.running).toBe(1);
    clock.advance(249);
    expect(store.invocations.get("ws", "inv-1")?.events).toHaveLength(1);
    clock.advance(1);
    expect(store.invocations.get("ws", "inv-1")?.response.status).toBe("running");
    clock.advance(749);
    expect(store.invocations.get("ws", "inv-1")?.response.status).toBe("running");
    expect(finished).not.toHaveBeenCalled();
    clock.advance(1);
    const done = store.invocations.get("ws", "inv-1");
    expect(done?.response.status).toBe("completed");
    expect(done?.response.outputArtifactUris).toBeUndefined();
    expect(done?.events.map((e) => e.progressRatio)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(finished).toHaveBeenCalledTimes(1);
    expect(r.running).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a late subscriber gets the history it missed, then live events, then the end", () => {
    const r = runner(1000);
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1", plan);
    clock.advance(600); // accepted, running 0.25, running 0.5
    const late = recorder();
    r.subscribe("ws", "inv-1", 0, late.sink);
    expect(late.got.map((g) => g.id)).toEqual([1, 2, 3]);
    expect(r.subscriptions).toBe(1);
    clock.advance(400);
    expect(late.got.map((g) => g.id)).toEqual([1, 2, 3, 4, 5]);
    expect(late.got.map((g) => g.status)).toEqual(["accepted", "running", "running", "running", "completed"]);
    expect(late.ended()).toBe(1);
    expect(r.subscriptions).toBe(0);
  });

  it("resumes after an event id, and ends at once on a finished invocation", () => {
    const r = runner(100);
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1", plan);
    clock.advance(100);
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
    r.start("ws", "m-1", request("inv-1"), "http://x/inv-1", plan);
    const a = recorder();
    const b = recorder();
    const stopA = r.subscribe("ws", "inv-1", 0, a.sink);
    r.subscribe("ws", "inv-1", 0, b.sink);
    expect(r.subscriptions).toBe(2);
    stopA();
    stopA();
    expect(r.subscriptions).toBe(1);
    clock.advance(1000);
    expect(a.got).toHaveLength(1);
    expect(a.ended()).toBe(0);
    expect(b.got).toHaveLength(5);
    expect(b.ended()).toBe(1);
  });

  it("failMachine fails only that machine's running invocations", () => {
    const finished = vi.fn();
    const r = runner(1000, finished);
    r.start("ws", "m-1", request("inv-1", "m-1"), "http://x/inv-1", plan);
    r.start("ws", "m-2", request("inv-2", "m-2"), "http://x/inv-2", plan);
    const watch = recorder();
    r.subscribe("ws", "inv-1", 0, watch.sink);
    clock.advance(300);
    expect(r.failMachine("ws", "m-1", "machine gone")).toBe(1);
    expect(r.failMachine("ws", "m-1", "machine gone")).toBe(0);
    expect(store.invocations.get("ws", "inv-1")?.response).toMatchObject({ status: "failed", error: "machine gone" });
    expect(watch.got.map((g) => g.status)).toEqual(["accepted", "running", "failed"]);
    expect(watch.ended()).toBe(1);
    expect(r.running).toBe(1);
    clock.advance(1000);
    expect(store.invocations.get("ws", "inv-1")?.events.at(-1)?.status).toBe("failed");
    expect(store.invocations.get("ws", "inv-2")?.response.status).toBe("completed");
    expect(finished).toHaveBeenCalledTimes(2);
  });

  it("close clears every timer and ends every subscription", () => {
    const r = runner(60_000);
    for (let i = 0; i < 3; i++) r.start("ws", "m-1", request(`inv-${i}`), `http://x/inv-${i}`, plan);
    const watch = recorder();
    r.subscribe("ws", "inv-0", 0, watch.sink);
    expect(clock.pendingTimers).toBe(3);
    r.close();
    expect(clock.pendingTimers).toBe(0);
    expect(r.running).toBe(0);
    expect(r.subscriptions).toBe(0);
    expect(watch.ended()).toBe(1);
    expect(() => r.start("ws", "m-1", request("inv-9"), "http://x/inv-9", plan)).toThrow("closed");
    const late = recorder();
    r.subscribe("ws", "inv-1", 0, late.sink);
    expect(late.ended()).toBe(1);
  });

  it("reports every event (the machine's heartbeat) and counts running invocations per machine", () => {
    const events: string[] = [];
    const r = new InvocationRunner(store, {
      durationMs: 100,
      clock,
      onEvent: (ws, rec, e) => events.push(`${ws}/${rec.machineId}:${e.status}@${clock.now() - Date.UTC(2025, 0, 1)}`),
    });
    r.start("ws", "m-1", request("inv-1", "m-1"), "http://x/inv-1", plan);
    r.start("ws", "m-1", request("inv-2", "m-1"), "http://x/inv-2", plan);
    r.start("ws", "m-2", request("inv-3", "m-2"), "http://x/inv-3", plan);
    expect([r.runningOn("ws", "m-1"), r.runningOn("ws", "m-2"), r.runningOn("other", "m-1")]).toEqual([2, 1, 0]);
    clock.advance(100);
    expect(r.runningOn("ws", "m-1")).toBe(0);
    expect(events.filter((e) => e.startsWith("ws/m-2"))).toEqual([
      "ws/m-2:accepted@0",
      "ws/m-2:running@25",
      "ws/m-2:running@50",
      "ws/m-2:running@75",
      "ws/m-2:completed@100",
    ]);
    expect(events).toHaveLength(15);
  });

  it("a plan that fails ends the invocation failed, with the step's diagnostics as its error", () => {
    const finished = vi.fn();
    const r = runner(400, finished);
    const failing = invocationPlan({ ...request("inv-f"), input: { steps: ["build", "push"], failAt: "push" } });
    r.start("ws", "m-1", request("inv-f"), "http://x/inv-f", failing);
    clock.advance(400);
    const rec = store.invocations.get("ws", "inv-f");
    expect(rec?.events.map((e) => [e.status, e.step])).toEqual([
      ["accepted", "queued"],
      ["running", "prepare"],
      ["running", "build"],
      ["failed", "push"],
    ]);
    expect(rec?.response).toMatchObject({
      status: "failed",
      error: "action compile failed at step push (as input.failAt asked)",
    });
    expect(finished).toHaveBeenCalledTimes(1);
    expect(r.running).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it("refuses a negative duration, an empty plan and unknown invocations", () => {
    expect(() => runner(0).start("ws", "m-1", request("inv-0"), "http://x/inv-0", [])).toThrow("at least one step");
    expect(() => runner(-1)).toThrow(RangeError);
    expect(() => runner(0).subscribe("ws", "nope", 0, recorder().sink)).toThrow("no invocation");
  });
});
