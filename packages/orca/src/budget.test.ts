import { describe, expect, it } from "vitest";
import { BudgetView } from "./budget.js";

describe("BudgetView", () => {
  it("tracks usage and what remains; 0 limits are unlimited", () => {
    const b = new BudgetView({ maxTokens: 100, maxCostMicros: 0 });
    b.charge({ tokens: 30, costMicros: 7 });
    expect(b.snapshot()).toMatchObject({
      limits: { maxTokens: 100, maxCostMicros: undefined },
      used: { tokens: 30, costMicros: 7 },
      remaining: { tokens: 70, costMicros: undefined },
    });
    expect(b.fits({ tokens: 70 })).toBe(true);
    expect(b.fits({ tokens: 71 })).toBe(false);
    expect(b.fits({ costMicros: 1e9 })).toBe(true);
  });
  it("learns from events and never moves usage backwards", () => {
    const b = new BudgetView();
    b.applyEvent("start_run", { budget: { max_tokens: 500, max_cost_micros: 10 } });
    b.applyEvent("usage_update", { tokens_used: 200, cost_micros_used: 4 });
    b.applyEvent("usage_update", { tokens_used: 150 });
    b.applyEvent("budget_warning", { limit: "max_tokens" });
    b.applyEvent("budget_exceeded", { limit: "max_cost_micros" });
    b.applyEvent("task_enqueued", { tokens_used: 999 });
    expect(b.snapshot()).toEqual({
      limits: { maxTokens: 500, maxCostMicros: 10 },
      used: { tokens: 200, costMicros: 4 },
      remaining: { tokens: 300, costMicros: 6 },
      warned: true,
      exceeded: "max_cost_micros",
    });
  });
});
