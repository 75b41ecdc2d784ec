// Invariants under concurrency, driven through the public client packages over a real
// socket: many ORCA submits at once never overspend a budget and accept exactly what it
// allows; one envelope id submitted many times at once makes one task; many baaaht
// CreateContainer calls at once never pass the session's max_containers. (The server's own
// tests use no client package, so these live at the root; the wire-level ones, event
// streams and abrupt disconnects, are in packages/server/test/concurrency-*.test.ts.)
import { BaaahtClient, ResourceExhaustedError } from "@baton/baaaht";
import { BudgetExceededError, OrcaClient, type RunEvent, type RunHandle } from "@baton/orca";
import { type BaaahtModule, type BatonServer, createBaaahtModule, orcaModule, startServer } from "@baton/server";
import { EventType } from "@baton/wire/baaaht";
import { afterEach, describe, expect, it } from "vitest";
import { SCALE_TEST_TIMEOUT_MS, settle, yieldingStore } from "../packages/server/test/concurrency-support.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(modules: Parameters<typeof startServer>[0] = {}): Promise<BatonServer> {
  const server = await startServer({ listen: ["127.0.0.1:0"], ...modules });
  cleanups.push(() => server.close());
  return server;
}

async function orcaClient(): Promise<OrcaClient> {
  const server = await serve({ modules: [orcaModule({ store: yieldingStore() })] });
  // No retries: every outcome the test counts is the server's first answer.
  const orca = new OrcaClient({
    address: server.addresses[0] as string,
    retry: false,
    timeoutMs: 60_000,
    dialTimeoutMs: 60_000,
  });
  cleanups.push(() => orca.close());
  return orca;
}

/** The run's whole log, read once (no follow). */
async function history(run: RunHandle): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const ev of run.events({ follow: false })) out.push(ev);
  return out;
}

describe("ORCA budgets under 1,000 concurrent SubmitTasks", () => {
  it("accepts exactly what the budget allows and never spends past it", {
    timeout: SCALE_TEST_TIMEOUT_MS,
  }, async () => {
    const orca = await orcaClient();
    // 1,000 tasks of 7 tokens and 3 micros against 2,103 tokens: exactly 300 fit (2,100),
    // the cost limit (10,000 micros) allows 3,333, so the token limit is the one that binds.
    const run = await orca.runs.start({
      workflowId: "budget-1000",
      budget: { maxTokens: 2103, maxCostMicros: 10_000 },
    });
    const outcomes = await settle(
      Array.from({ length: 1000 }, (_, i) => run.submit({ id: `t${i}`, usage: { tokens: 7, costMicros: 3 } })),
    );
    const accepted = outcomes.filter((o) => o.ok);
    const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    expect(accepted).toHaveLength(300);
    expect(refused).toHaveLength(700);
    for (const err of refused) {
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect((err as BudgetExceededError).limit).toBe("max_tokens");
    }

    const events = await history(run);
    const enqueued = events.filter((e) => e.kind === "task_enqueued");
    expect(enqueued).toHaveLength(300);
    expect(events.filter((e) => e.kind === "budget_exceeded")).toHaveLength(700);
    // The server's own running total: it only grows, by 7 per accepted task, and ends at 2,100.
    const used = events
      .filter((e) => e.kind === "usage_update")
      .map((e) => (e.payload as { tokens_used: number }).tokens_used);
    expect(used).toEqual(Array.from({ length: 300 }, (_, i) => 7 * (i + 1)));
    // The accepted ids are the ones the events enqueued, each once.
    const acceptedIds = new Set(accepted.map((o) => (o.ok ? o.value.id : "")));
    expect(new Set(enqueued.map((e) => e.parentId))).toEqual(acceptedIds);
    expect(run.budget.used).toEqual({ tokens: 2100, costMicros: 900 });
  });

  it("with mixed sizes and both limits, every answer is the one the server's order implies", {
    timeout: SCALE_TEST_TIMEOUT_MS,
  }, async () => {
    const orca = await orcaClient();
    const maxTokens = 5000;
    const maxCostMicros = 4000;
    const run = await orca.runs.start({ workflowId: "budget-mixed", budget: { maxTokens, maxCostMicros } });
    // Deterministic sizes from a small LCG: 1..40 tokens, 0..25 micros.
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const sizes = Array.from({ length: 1000 }, (_, i) => ({
      id: `m${i}`,
      tokens: 1 + (next() % 40),
      costMicros: next() % 26,
    }));
    const byId = new Map(sizes.map((s) => [s.id, s]));
    const outcomes = await settle(
      sizes.map((s) => run.submit({ id: s.id, usage: { tokens: s.tokens, costMicros: s.costMicros } })),
    );

    // Replay the server's log in its order: each task_enqueued must have fit at its turn,
    // each budget_exceeded must not have, and the totals must match the answers.
    let tokens = 0;
    let cost = 0;
    const enqueued = new Set<string>();
    const overBy = new Set<string>();
    for (const ev of await history(run)) {
      const s = byId.get(ev.parentId);
      if (ev.kind === "task_enqueued" && s) {
        expect(tokens + s.tokens <= maxTokens && cost + s.costMicros <= maxCostMicros, ev.parentId).toBe(true);
        tokens += s.tokens;
        cost += s.costMicros;
        enqueued.add(s.id);
      } else if (ev.kind === "budget_exceeded" && s) {
        expect(tokens + s.tokens > maxTokens || cost + s.costMicros > maxCostMicros, ev.parentId).toBe(true);
        overBy.add(s.id);
      }
    }
    expect(tokens).toBeLessThanOrEqual(maxTokens);
    expect(cost).toBeLessThanOrEqual(maxCostMicros);
    expect(enqueued.size + overBy.size).toBe(1000);
    sizes.forEach((s, i) => {
      const o = outcomes[i];
      expect(o?.ok, s.id).toBe(enqueued.has(s.id));
      if (o && !o.ok) expect(o.error, s.id).toBeInstanceOf(BudgetExceededError);
    });
    // Something was refused (the sizes add up to far more than the budget), and the
    // client's view of what was spent agrees with the server's log.
    expect(overBy.size).toBeGreaterThan(0);
    expect(run.budget.used).toEqual({ tokens, costMicros: cost });
  });
});

describe("ORCA deduplication under 200 concurrent submits of one Envelope.id", () => {
  it("makes one task, charged once, and accepts every submit", async () => {
    const orca = await orcaClient();
    const run = await orca.runs.start({ workflowId: "dedup-200", budget: { maxTokens: 1000 } });
    const outcomes = await settle(
      Array.from({ length: 200 }, () => run.submit({ id: "same", payload: { n: 1 }, usage: { tokens: 10 } })),
    );
    expect(outcomes.filter((o) => o.ok && o.value.accepted)).toHaveLength(200);
    const events = await history(run);
    expect(events.filter((e) => e.kind === "task_enqueued").map((e) => e.parentId)).toEqual(["same"]);
    const usage = events.filter((e) => e.kind === "usage_update");
    expect(usage.map((e) => (e.payload as { tokens_used: number }).tokens_used)).toEqual([10]);
    expect(run.budget.used.tokens).toBe(10);
  });
});

describe("baaaht max_containers under concurrent CreateContainer", () => {
  it("never holds more than max_containers at any observed point, and creates exactly max", async () => {
    const server = await serve({ modules: [createBaaahtModule] });
    const baaaht = new BaaahtClient({
      address: server.addresses[0] as string,
      retry: false,
      timeoutMs: 60_000,
      dialTimeoutMs: 60_000,
    });
    cleanups.push(() => baaaht.close());
    const module = server.modules.get("baaaht") as BaaahtModule;
    const max = 7;
    const session = await baaaht.sessions.create({ config: { maxContainers: max } });

    // Observers: the server's own state on every turn of the event loop, and ListContainers
    // over the wire, both while the creates are in flight.
    const inSession = () =>
      [...module.store.containers.values()].filter((r) => r.container.sessionId === session.id).length;
    let highest = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        highest = Math.max(highest, inSession());
        samples++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const listed: number[] = [];
    const lister = (async () => {
      for (let i = 0; i < 20; i++)
        listed.push((await baaaht.containers.list({ sessionId: session.id }).toArray()).length);
    })();

    const outcomes = await settle(
      Array.from({ length: 200 }, (_, i) =>
        baaaht.containers.create(session.id, { image: "alpine:3", command: ["true"], labels: { n: String(i) } }),
      ),
    );
    await lister;
    sampling = false;
    await sampler;

    expect(outcomes.filter((o) => o.ok)).toHaveLength(max);
    const refused = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    expect(refused).toHaveLength(200 - max);
    for (const err of refused) expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(samples).toBeGreaterThan(1);
    expect(highest).toBe(max);
    expect(Math.max(...listed)).toBeLessThanOrEqual(max);
    expect(await baaaht.containers.list({ sessionId: session.id }).toArray()).toHaveLength(max);
    const created = module.state.events
      .all()
      .filter((e) => e.type === EventType.CONTAINER_CREATED && e.metadata?.sessionId === session.id);
    expect(created).toHaveLength(max);

    // Room made by a removal is taken by exactly one of the next concurrent creates.
    const first = outcomes.find((o) => o.ok);
    if (!first?.ok) throw new Error("no container was created");
    await first.value.remove({ force: true });
    const again = await settle(
      Array.from({ length: 50 }, () => baaaht.containers.create(session.id, { image: "alpine:3", command: ["true"] })),
    );
    expect(again.filter((o) => o.ok)).toHaveLength(1);
    expect(inSession()).toBe(max);
  });
});
