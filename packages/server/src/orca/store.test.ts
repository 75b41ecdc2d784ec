import { describe, expect, it } from "vitest";
import { MemoryOrcaStore, type RunRecord } from "./store.js";

const run = (): RunRecord => ({
  runId: "r1",
  startKey: "k",
  createdAtMs: 1,
  budget: { maxTokens: 10n, maxCostMicros: 0n, usedTokens: 0n, usedCostMicros: 0n, warned: [] },
});

describe("MemoryOrcaStore runs", () => {
  it("hands out copies: changing a run read or written changes the store only through putRun", async () => {
    const store = new MemoryOrcaStore();
    const written = run();
    await store.createRun(written);
    written.budget.usedTokens = 5n;
    written.budget.warned.push("max_tokens");
    const read = await store.getRun("r1");
    expect(read?.budget.usedTokens).toBe(0n);
    expect(read?.budget.warned).toEqual([]);
    read!.budget.usedTokens = 7n;
    read!.budget.warned.push("max_cost_micros");
    expect((await store.getRun("r1"))?.budget).toEqual(run().budget);
    await store.putRun(read!);
    const again = await store.getRun("r1");
    expect(again?.budget.usedTokens).toBe(7n);
    expect(again?.budget.warned).toEqual(["max_cost_micros"]);
    expect(again).not.toBe(read);
  });
});
