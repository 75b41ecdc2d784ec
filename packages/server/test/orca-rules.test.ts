// ORCA rules the reference server enforces, over a real socket with the generated Connect
// client (the server's tests use no client package): StartRun refusals that leave nothing
// behind, final deadlines, the timeout maximum, and the retention bounds of runs and events.
import { ManualClock, type MemoryOrcaStore, ORCA_MAX_TIMEOUT_MS, type OrcaModule, startServer } from "@baton/server";
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { type Envelope, EnvelopeSchema, Orchestrator } from "@baton/wire/orca";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, type ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type RpcHarness, refusal, startRpc } from "./rpc-support.js";

interface Harness {
  clock: ManualClock;
  orca: Client<typeof Orchestrator>;
  module: OrcaModule;
}
const open: RpcHarness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

async function start(settings: Record<string, string> = {}): Promise<Harness> {
  const clock = new ManualClock();
  const h = await startRpc(settings, clock);
  open.push(h);
  return {
    clock,
    orca: createClient(Orchestrator, h.connection.transport),
    module: h.server.modules.get("orca") as OrcaModule,
  };
}

let n = 0;
/** A task envelope stamped with the manual clock's time. */
function task(clock: ManualClock, init: MessageInitShape<typeof EnvelopeSchema> = {}): Envelope {
  return create(EnvelopeSchema, {
    id: `t${++n}`,
    kind: "agent_task",
    payloadJson: "{}",
    protocolVersion: 1,
    tsMs: BigInt(clock.now()),
    ...init,
  });
}

const reason = (e: ConnectError) => e.findDetails(ErrorInfoSchema)[0]?.reason;

async function events(h: Harness, runId: string, startEventId = 0n) {
  const out: Envelope[] = [];
  for await (const r of h.orca.streamEvents({ runId, startEventId }, { headers: { "orca-follow": "false" } })) {
    if (r.event) out.push(r.event);
  }
  return out;
}

describe("StartRun with an initial task over budget", () => {
  it("creates no run, and a repeat is refused the same way", async () => {
    const h = await start();
    const req = {
      workflowId: "over",
      budget: { maxTokens: 100n },
      initialTask: task(h.clock, { id: "big", usage: { tokens: 101n } }),
    };
    for (const attempt of ["first", "repeat"]) {
      const err = await refusal(h.orca.startRun(req));
      expect([attempt, err.code]).toEqual([attempt, Code.ResourceExhausted]);
      expect(reason(err)).toBe("BUDGET_EXCEEDED");
      // Nothing half-made is left: the run does not exist.
      expect((await refusal(events(h, "over"))).code).toBe(Code.NotFound);
      expect((await refusal(h.orca.fetchResult({ runId: "over", parentId: "big" }))).code).toBe(Code.NotFound);
    }
    // The same workflow id starts cleanly once the task fits.
    await h.orca.startRun({ ...req, initialTask: task(h.clock, { id: "big", usage: { tokens: 100n } }) });
    expect((await events(h, "over")).map((e) => e.kind)).toEqual([
      "start_run",
      "task_enqueued",
      "usage_update",
      "budget_warning",
    ]);
  });

  it("leaves nothing behind when the initial task is a result without parent_id", async () => {
    const h = await start();
    const req = { workflowId: "bad-initial", initialTask: task(h.clock, { kind: "agent_result" }) };
    expect((await refusal(h.orca.startRun(req))).code).toBe(Code.InvalidArgument);
    expect((await refusal(events(h, "bad-initial"))).code).toBe(Code.NotFound);
  });
});

describe("task deadlines", () => {
  it("keeps the deadline_exceeded result final: a late agent_result is refused and logged as late", async () => {
    const h = await start();
    await h.orca.startRun({ workflowId: "late" });
    await h.orca.submitTask({ runId: "late", task: task(h.clock, { id: "slow", timeoutMs: 1000n }) });
    h.clock.advance(999);
    expect((await refusal(h.orca.fetchResult({ runId: "late", parentId: "slow" }))).code).toBe(Code.NotFound);
    h.clock.advance(1);
    const timedOut = (await h.orca.fetchResult({ runId: "late", parentId: "slow" })).result;
    expect(JSON.parse(timedOut?.payloadJson ?? "")).toMatchObject({ error: "deadline_exceeded" });

    const late = task(h.clock, { id: "answer", kind: "agent_result", parentId: "slow", payloadJson: '{"x":1}' });
    for (const attempt of ["first", "retry"]) {
      const err = await refusal(h.orca.submitTask({ runId: "late", task: late }));
      expect([attempt, err.code]).toEqual([attempt, Code.FailedPrecondition]);
      expect(reason(err)).toBe("DEADLINE_PASSED");
    }
    const after = (await h.orca.fetchResult({ runId: "late", parentId: "slow" })).result;
    expect(after?.kind).toBe("agent_error");
    expect(JSON.parse(after?.payloadJson ?? "")).toMatchObject({ error: "deadline_exceeded" });
    const log = await events(h, "late");
    expect(log.map((e) => e.kind)).toEqual([
      "start_run",
      "task_enqueued",
      "task_timeout",
      "late_result",
      "late_result",
    ]);
    expect(JSON.parse(log[3]?.payloadJson ?? "")).toEqual({
      task_id: "slow",
      result_id: "answer",
      kind: "agent_result",
    });
  });

  it("a result in time cancels the deadline and can still be replaced", async () => {
    const h = await start();
    await h.orca.startRun({ workflowId: "in-time" });
    await h.orca.submitTask({ runId: "in-time", task: task(h.clock, { id: "quick", timeoutMs: 1000n }) });
    expect(h.module.service.pendingDeadlines).toBe(1);
    const ok = (id: string) => task(h.clock, { id, kind: "agent_result", parentId: "quick" });
    await h.orca.submitTask({ runId: "in-time", task: ok("r1") });
    expect(h.module.service.pendingDeadlines).toBe(0);
    h.clock.advance(5000);
    await h.orca.submitTask({ runId: "in-time", task: ok("r2") });
    expect((await h.orca.fetchResult({ runId: "in-time", parentId: "quick" })).result?.id).toBe("r2");
    expect((await events(h, "in-time")).map((e) => e.kind)).not.toContain("task_timeout");
  });
});

describe("timeout_ms maximum", () => {
  it("refuses 2^31 ms, 2^53 ms and 2^64-1 ms with INVALID_ARGUMENT, in SubmitTask and StartRun", async () => {
    const h = await start();
    await h.orca.startRun({ workflowId: "max" });
    for (const timeoutMs of [2n ** 31n, 2n ** 53n, 2n ** 64n - 1n, BigInt(ORCA_MAX_TIMEOUT_MS) + 1n]) {
      const err = await refusal(h.orca.submitTask({ runId: "max", task: task(h.clock, { timeoutMs }) }));
      expect([timeoutMs, err.code]).toEqual([timeoutMs, Code.InvalidArgument]);
      expect(err.rawMessage).toContain("timeout_ms");
      const start = await refusal(
        h.orca.startRun({ workflowId: `max-${timeoutMs}`, initialTask: task(h.clock, { timeoutMs }) }),
      );
      expect(start.code).toBe(Code.InvalidArgument);
    }
    // Nothing was armed or logged for the refused tasks.
    expect(h.module.service.pendingDeadlines).toBe(0);
    expect((await events(h, "max")).map((e) => e.kind)).toEqual(["start_run"]);
  });

  it("refuses a deadline more than the maximum ahead through a future ts_ms", async () => {
    const h = await start();
    await h.orca.startRun({ workflowId: "future" });
    const env = task(h.clock, { tsMs: BigInt(h.clock.now() + 1000), timeoutMs: BigInt(ORCA_MAX_TIMEOUT_MS) });
    const err = await refusal(h.orca.submitTask({ runId: "future", task: env }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("ts_ms");
  });

  it("accepts the maximum, which does not fire early", async () => {
    const h = await start();
    await h.orca.startRun({ workflowId: "day" });
    await h.orca.submitTask({
      runId: "day",
      task: task(h.clock, { id: "long", timeoutMs: BigInt(ORCA_MAX_TIMEOUT_MS) }),
    });
    h.clock.advance(ORCA_MAX_TIMEOUT_MS - 1);
    expect((await refusal(h.orca.fetchResult({ runId: "day", parentId: "long" }))).code).toBe(Code.NotFound);
    h.clock.advance(1);
    const result = (await h.orca.fetchResult({ runId: "day", parentId: "long" })).result;
    expect(JSON.parse(result?.payloadJson ?? "")).toMatchObject({ error: "deadline_exceeded" });
  });
});

describe("retention", () => {
  it("keeps the last orca.maxEventsPerRun events; a replay from 0 or 1 starts at the oldest kept, from an evicted id is OUT_OF_RANGE", async () => {
    const h = await start({ "orca.maxEventsPerRun": "5" });
    await h.orca.startRun({ workflowId: "long-run" });
    for (let i = 0; i < 10; i++) await h.orca.submitTask({ runId: "long-run", task: task(h.clock) });
    // 11 events were written (start_run and 10 task_enqueued): ids 7..11 are kept.
    const ids = (evs: Envelope[]) => evs.map((e) => Number(e.id));
    expect(ids(await events(h, "long-run", 0n))).toEqual([7, 8, 9, 10, 11]);
    expect(ids(await events(h, "long-run", 1n))).toEqual([7, 8, 9, 10, 11]);
    expect(ids(await events(h, "long-run", 9n))).toEqual([9, 10, 11]);
    const err = await refusal(events(h, "long-run", 3n));
    expect(err.code).toBe(Code.OutOfRange);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({
      reason: "EVENTS_EVICTED",
      metadata: { oldest_event_id: "7", requested_event_id: "3" },
    });
  });

  it("keeps at most orca.maxEventBytesPerRun bytes of event payloads per run", async () => {
    const h = await start({ "orca.maxEventBytesPerRun": "2000" });
    await h.orca.startRun({ workflowId: "bytes" });
    const payloadJson = JSON.stringify({ blob: "x".repeat(400) });
    for (let i = 0; i < 20; i++) await h.orca.submitTask({ runId: "bytes", task: task(h.clock, { payloadJson }) });
    const kept = await events(h, "bytes");
    const bytes = kept.reduce((sum, e) => sum + Buffer.byteLength(e.payloadJson), 0);
    expect(bytes).toBeLessThanOrEqual(2000);
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.at(-1)?.id).toBe("21");
  });

  it("accepts at most orca.maxTasksPerRun envelopes per run; a duplicate id is still accepted", async () => {
    const h = await start({ "orca.maxTasksPerRun": "3" });
    await h.orca.startRun({ workflowId: "capped" });
    const first = task(h.clock);
    await h.orca.submitTask({ runId: "capped", task: first });
    await h.orca.submitTask({ runId: "capped", task: task(h.clock) });
    await h.orca.submitTask({ runId: "capped", task: task(h.clock, { kind: "agent_result", parentId: first.id }) });
    const err = await refusal(h.orca.submitTask({ runId: "capped", task: task(h.clock) }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "TASK_LIMIT_REACHED", metadata: { max: "3" } });
    await expect(h.orca.submitTask({ runId: "capped", task: first })).resolves.toMatchObject({ accepted: true });
  });

  it("keeps orca.maxRuns runs, evicting settled ones oldest first, and refuses a new run when none is settled", async () => {
    const h = await start({ "orca.maxRuns": "2" });
    const store = h.module.store as MemoryOrcaStore;
    await h.orca.startRun({ workflowId: "a" });
    await h.orca.startRun({ workflowId: "b", initialTask: task(h.clock, { id: "b-task" }) });
    // A follower of `a` ends with NOT_FOUND when `a` is evicted, instead of waiting forever.
    const following = refusal(
      (async () => {
        for await (const _ of h.orca.streamEvents({ runId: "a" })) {
          /* replay, then follow */
        }
      })(),
    );
    // `a` is settled (no task waits for a result), `b` is not: `c` evicts `a`.
    await h.orca.startRun({ workflowId: "c", initialTask: task(h.clock, { id: "c-task" }) });
    expect(store.runCount).toBe(2);
    expect((await refusal(events(h, "a"))).code).toBe(Code.NotFound);
    expect((await following).code).toBe(Code.NotFound);
    // Neither `b` nor `c` is settled: a fourth run is refused, and nothing is evicted.
    const err = await refusal(h.orca.startRun({ workflowId: "d" }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "RUN_LIMIT_REACHED", metadata: { max: "2" } });
    expect(store.runCount).toBe(2);
    // `c` settles when its task has a result: then `d` evicts it, the oldest settled run.
    await h.orca.submitTask({ runId: "c", task: task(h.clock, { kind: "agent_result", parentId: "c-task" }) });
    await h.orca.startRun({ workflowId: "d" });
    expect(store.runCount).toBe(2);
    expect((await events(h, "b")).length).toBeGreaterThan(0);
    expect((await refusal(events(h, "c"))).code).toBe(Code.NotFound);
    // An agent_error settles a task as well.
    await h.orca.submitTask({ runId: "b", task: task(h.clock, { kind: "agent_error", parentId: "b-task" }) });
    await h.orca.startRun({ workflowId: "e" });
    expect((await refusal(events(h, "b"))).code).toBe(Code.NotFound);
  });

  it("refuses malformed orca.* settings at start", async () => {
    await expect(startServer({ listen: ["127.0.0.1:0"], settings: { "orca.maxEventsPerRun": "0" } })).rejects.toThrow(
      /orca.maxEventsPerRun/,
    );
    await expect(startServer({ listen: ["127.0.0.1:0"], settings: { "orca.maxRuns": "1.5" } })).rejects.toThrow(
      /orca.maxRuns/,
    );
  });
});
