import {
  AlreadyExistsError,
  BatonError,
  BudgetExceededError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OrcaClient,
  type RunEvent,
} from "@baton/orca";
import { type BatonServer, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, take } from "./support.js";

let server: BatonServer;
let orca: OrcaClient;
let n = 0;
const wf = () => `wf-${process.pid}-${++n}`;

beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"] });
  orca = new OrcaClient({ address: server.addresses[0] as string });
});
afterAll(async () => {
  await orca.close();
  await server.close();
});

async function history(runId: string): Promise<RunEvent[]> {
  return [...(await collect(orca.runs.getHandle(runId).events({ follow: false })))];
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("StartRun", () => {
  it("uses the workflow id as run id, stores the budget and enqueues the initial task", async () => {
    const id = wf();
    const run = await orca.runs.start({
      workflowId: id,
      task: { id: "t0", payload: { step: 0 } },
      budget: { maxTokens: 1000 },
    });
    expect(run.id).toBe(id);
    expect(run.budget.limits).toEqual({ maxTokens: 1000, maxCostMicros: undefined });
    const events = await history(id);
    expect(events.map((e) => [e.id, e.kind])).toEqual([
      [1, "start_run"],
      [2, "task_enqueued"],
    ]);
    expect(events[0]?.payload).toEqual({ workflow_id: id, budget: { max_tokens: 1000, max_cost_micros: 0 } });
    expect(events[1]?.payload).toMatchObject({ task_id: "t0", kind: "agent_task", payload: { step: 0 } });
  });

  it("returns the same run for the same request and ALREADY_EXISTS for a conflicting one", async () => {
    const id = wf();
    const input = { workflowId: id, task: { id: "t0", payload: {} }, budget: { maxTokens: 10 } };
    await orca.runs.start(input);
    const again = await orca.runs.start(input);
    expect(again.id).toBe(id);
    expect((await history(id)).length).toBe(2);
    const err = await orca.runs.start({ ...input, budget: { maxTokens: 11 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyExistsError);
  });

  it("refuses an initial task over budget without creating the run, the same way on a repeat", async () => {
    const input = { workflowId: wf(), task: { id: "big", usage: { tokens: 11 } }, budget: { maxTokens: 10 } };
    for (let i = 0; i < 2; i++) {
      const err = await orca.runs.start(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BudgetExceededError);
      await expect(history(input.workflowId)).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it("refuses an empty workflow id", async () => {
    await expect(orca.runs.start({ workflowId: "" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("refuses negative or fractional budget limits before sending", async () => {
    await expect(orca.runs.start({ workflowId: wf(), budget: { maxTokens: -1 } })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(orca.runs.start({ workflowId: wf(), budget: { maxCostMicros: 0.5 } })).rejects.toThrow(
      /budget.maxCostMicros/,
    );
  });
});

describe("SubmitTask", () => {
  it("fills id, ts_ms, protocol_version and JSON payload", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const before = Date.now();
    const t = await run.submit({ payload: { prompt: "hi" }, agent: "agent.py" });
    expect(t.accepted).toBe(true);
    expect(t.id).toMatch(/^[0-9a-f-]{36}$/);
    const [ev] = (await history(run.id)).filter((e) => e.kind === "task_enqueued");
    expect(ev?.parentId).toBe(t.id);
    expect(ev?.agent).toBe("agent.py");
    expect(ev?.payload).toMatchObject({ task_id: t.id, payload: { prompt: "hi" } });
    expect(ev?.tsMs).toBeGreaterThanOrEqual(before);
  });

  it("accepts a duplicate envelope id and changes nothing", async () => {
    const run = await orca.runs.start({ workflowId: wf(), budget: { maxTokens: 1000 } });
    await run.submit({ id: "same", usage: { tokens: 100 } });
    const n1 = (await history(run.id)).length;
    const again = await run.submit({ id: "same", usage: { tokens: 100 } });
    expect(again).toEqual({ id: "same", accepted: true });
    expect((await history(run.id)).length).toBe(n1);
    expect(run.budget.used.tokens).toBe(100);
    // The server charged once too: 900 more tokens still fit.
    await expect(run.submit({ usage: { tokens: 900 } })).resolves.toMatchObject({ accepted: true });
  });

  it("maps the orchestrator's rules to the right errors", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    await expect(orca.runs.getHandle("no-such-run").submit({})).rejects.toBeInstanceOf(NotFoundError);
    const base = { id: "x", parentId: "", traceId: "", agent: "", kind: "agent_task", timeoutMs: 0n, tsMs: 0n };
    const raw = (task: Record<string, unknown>) => orca.raw.submitTask({ runId: run.id, task: { ...base, ...task } });
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    const { toBatonError } = await import("@baton/core");
    const v2 = toBatonError(await err(raw({ payloadJson: "{}", protocolVersion: 2 })));
    expect(v2).toBeInstanceOf(FailedPreconditionError);
    expect(v2.message).toContain("protocol_version");
    const bad = toBatonError(await err(raw({ payloadJson: "{nope", protocolVersion: 1 })));
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad.message).toContain("payload_json");
    const late = toBatonError(
      await err(
        raw({ id: "late", payloadJson: "{}", protocolVersion: 1, tsMs: BigInt(Date.now() - 5000), timeoutMs: 1000n }),
      ),
    );
    expect(late).toBeInstanceOf(DeadlineExceededError);
    // ts_ms = 0 means now: a timeout is measured from the moment of submission.
    await expect(raw({ id: "now", payloadJson: "{}", protocolVersion: 1, timeoutMs: 1000n })).resolves.toMatchObject({
      accepted: true,
    });
    // None of the refused tasks left a trace.
    expect((await history(run.id)).map((e) => e.parentId)).not.toContain("late");
  });

  it("refuses a payload that is not JSON-serialisable before sending", async () => {
    const run = orca.runs.getHandle(wf());
    await expect(run.submit({ payload: { big: 1n } })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("budgets", () => {
  it("names the exhausted limit and keeps the budget view", async () => {
    const run = await orca.runs.start({ workflowId: wf(), budget: { maxTokens: 1000, maxCostMicros: 5000 } });
    await run.submit({ usage: { tokens: 850, costMicros: 100 } });
    expect(run.budget.remaining).toEqual({ tokens: 150, costMicros: 4900 });
    const tokens = await run.submit({ usage: { tokens: 151 } }).catch((e: unknown) => e);
    expect(tokens).toBeInstanceOf(BudgetExceededError);
    expect((tokens as BudgetExceededError).limit).toBe("max_tokens");
    expect((tokens as BudgetExceededError).retryable).toBe(false);
    // The limit travels as a typed google.rpc.ErrorInfo detail, not in the message text.
    expect((tokens as BudgetExceededError).errorInfo).toMatchObject({
      reason: "BUDGET_EXCEEDED",
      domain: "orca.v1",
      metadata: { limit: "max_tokens", used: "850", requested: "151", max: "1000" },
    });
    const cost = await run.submit({ usage: { costMicros: 4901 } }).catch((e: unknown) => e);
    expect((cost as BudgetExceededError).limit).toBe("max_cost_micros");
    expect(run.budget.exceeded).toBe("max_cost_micros");
    const kinds = (await history(run.id)).map((e) => e.kind);
    expect(kinds).toEqual([
      "start_run",
      "task_enqueued",
      "usage_update",
      "budget_warning",
      "budget_exceeded",
      "budget_exceeded",
    ]);
  });

  it("never overspends under concurrent submits", async () => {
    const run = await orca.runs.start({ workflowId: wf(), budget: { maxTokens: 1000 } });
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => run.submit({ usage: { tokens: 100 } })));
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected" && r.reason instanceof BudgetExceededError).length;
    expect(ok).toBe(10);
    expect(refused).toBe(30);
    const usage = (await history(run.id)).filter((e) => e.kind === "usage_update").at(-1);
    expect(usage?.payload).toMatchObject({ tokens_used: 1000, max_tokens: 1000 });
    expect(run.budget.used.tokens).toBe(1000);
  });

  it("learns limits and usage from events on a handle made without them", async () => {
    const id = wf();
    const started = await orca.runs.start({ workflowId: id, budget: { maxTokens: 500 } });
    await started.submit({ usage: { tokens: 450 } });
    const handle = orca.runs.getHandle(id);
    expect(handle.budget.limits.maxTokens).toBeUndefined();
    await collect(handle.events({ follow: false }));
    expect(handle.budget).toMatchObject({
      limits: { maxTokens: 500 },
      used: { tokens: 450 },
      remaining: { tokens: 50 },
      warned: true,
    });
  });
});

describe("StreamEvents", () => {
  it("replays from an id, honours since and max, then follows live", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    for (let i = 0; i < 5; i++) await run.submit({ id: `t${i}` });
    const all = await history(run.id);
    expect(all.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await collect(run.events({ from: 4, follow: false }))).map((e) => e.id)).toEqual([4, 5, 6]);
    expect((await collect(run.events({ max: 2 }))).map((e) => e.id)).toEqual([1, 2]);
    const future = (all.at(-1)?.tsMs ?? 0) + 1;
    const live = take(run.events({ since: future }), 2);
    // The later events must carry a later time than `future`, whenever the stream opens:
    // the replay of the log delivers them either way.
    await eventually(() => Date.now() > future);
    await run.submit({ id: "later-1" });
    await run.submit({ id: "later-2" });
    expect((await live).map((e) => e.parentId)).toEqual(["later-1", "later-2"]);
  });

  it("rejects a stream for an unknown run with NOT_FOUND", async () => {
    await expect(collect(orca.runs.getHandle("nope").events())).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("FetchResult", () => {
  it("is NOT_FOUND until an agent reports, then returns the latest result", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const task = await run.submit({ payload: { q: 1 } });
    await expect(run.result(task.id)).rejects.toBeInstanceOf(NotFoundError);
    await run.submit({ kind: "agent_result", parentId: task.id, payload: { answer: 41 } });
    await run.submit({ kind: "agent_result", parentId: task.id, payload: { answer: 42 } });
    expect(await run.result(task.id)).toMatchObject({ ok: true, payload: { answer: 42 } });
    await run.submit({ kind: "agent_error", parentId: task.id, payload: { error: "boom" } });
    expect(await run.result(task.id)).toMatchObject({ ok: false, error: { error: "boom" } });
  });

  it("waits for a result with wait: true", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const task = await run.submit({});
    const waiting = run.result(task.id, { wait: true, timeoutMs: 5000 });
    setTimeout(() => void run.submit({ kind: "agent_result", parentId: task.id, payload: "done" }), 50);
    expect(await waiting).toMatchObject({ ok: true, payload: "done" });
  });

  it("records an agent_error when a task's timeout passes without a result", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const task = await run.submit({ timeoutMs: 50 });
    const result = await run.result(task.id, { wait: true, timeoutMs: 5000 });
    expect(result).toMatchObject({ ok: false, error: { error: "deadline_exceeded" } });
    expect((await history(run.id)).map((e) => e.kind)).toContain("task_timeout");
  });

  it("keeps a timed-out task's deadline_exceeded: a late agent_result fails with FailedPreconditionError", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const task = await run.submit({ timeoutMs: 50 });
    expect(await run.result(task.id, { wait: true, timeoutMs: 5000 })).toMatchObject({ ok: false });
    const late = await run.submit({ kind: "agent_result", parentId: task.id, payload: "too late" }).catch((e) => e);
    expect(late).toBeInstanceOf(FailedPreconditionError);
    expect((late as FailedPreconditionError).errorInfo?.reason).toBe("DEADLINE_PASSED");
    expect(await run.result(task.id)).toMatchObject({ ok: false, error: { error: "deadline_exceeded" } });
    expect((await history(run.id)).map((e) => e.kind)).toContain("late_result");
  });

  it("rejects an agent_result without parent_id", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const err = await run.submit({ kind: "agent_result" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toBeInstanceOf(BatonError);
  });
});

describe("the one client shape, ORCA's part", () => {
  it("iterates one events() result twice with the same answer", async () => {
    const run = await orca.runs.start({ workflowId: wf(), task: { id: "t1", payload: { n: 1 } } });
    await run.submit({ id: "t2" });
    const events = run.events({ follow: false, max: 3 });
    const first = (await collect(events)).map((e) => `${e.id}:${e.kind}`);
    const second = (await collect(events)).map((e) => `${e.id}:${e.kind}`);
    expect(first).toEqual(["1:start_run", "2:task_enqueued", "3:task_enqueued"]);
    expect(second).toEqual(first);
  });

  it("reports bad events() options when iterated, never by throwing at the call", async () => {
    const run = orca.runs.getHandle(wf());
    const events = run.events({ from: -1 });
    await expect(collect(events)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(collect(run.events({ max: 1.5 }))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("result({ wait }) fails at once for a run that does not exist, by reason not message", async () => {
    const err = await orca.runs
      .getHandle(wf())
      .result("t1", { wait: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).errorInfo?.reason).toBe("RUN_NOT_FOUND");
  });

  it("sends the protocol version it is given; the server refuses one it does not speak", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    await expect(run.submit({ protocolVersion: 2 })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(run.submit({ protocolVersion: 1 })).resolves.toMatchObject({ accepted: true });
  });

  it("dials $ORCA_ADDR when the options name no address", async () => {
    const before = process.env.ORCA_ADDR;
    process.env.ORCA_ADDR = server.addresses[0] as string;
    try {
      const fromEnv = new OrcaClient();
      expect(fromEnv.connection.address.port).toBe(orca.connection.address.port);
      const run = await fromEnv.runs.start({ workflowId: wf() });
      expect(run.id).toMatch(/^wf-/);
      await fromEnv.close();
      delete process.env.ORCA_ADDR;
      expect(new OrcaClient().connection.address.port).toBe(50051);
    } finally {
      if (before === undefined) delete process.env.ORCA_ADDR;
      else process.env.ORCA_ADDR = before;
    }
  });
});

describe("result({ wait, timeoutMs })", () => {
  it("fails with DeadlineExceededError when no result comes in time", async () => {
    const run = await orca.runs.start({ workflowId: wf() });
    const task = await run.submit({});
    const err = await run.result(task.id, { wait: true, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
  });
});
