import { describe, expect, it } from "vitest";
import { type CostDeviceInput, type CostPlanInput, estimatePlanCost, estimateStepCost } from "./edgemesh-cost.js";

const laptop: CostDeviceInput = { deviceId: "laptop", deviceName: "Laptop", platform: "darwin", ramFreeMb: 4096 };
const phone: CostDeviceInput = { deviceId: "phone", deviceName: "Phone", platform: "iOS", ramFreeMb: 2000n };
// Its own prefill figure, no decode figure: the laptop default decode applies.
const own: CostDeviceInput = { deviceId: "own", platform: "linux", llmPrefillToksPerS: 450 };

const plan: CostPlanInput = {
  groups: [
    {
      tasks: [
        { taskId: "gen", kind: "LLM_GENERATE", promptTokens: 900, maxOutputTokens: 45 },
        { taskId: "echo", kind: "ECHO" },
      ],
    },
    {
      tasks: [
        { taskId: "sys", kind: "sysinfo" },
        { taskId: "render", kind: "RENDER" },
      ],
    },
  ],
};

describe("estimatePlanCost", () => {
  const cost = estimatePlanCost(plan, [laptop, phone, own]);
  const [onLaptop, onPhone, onOwn] = cost.deviceCosts;

  it("prices LLM_GENERATE with the seed's formula and the platform defaults (hand-computed)", () => {
    // (900/300 + 45/30) × 1000 = 4500 ms; then max(10, 250) = 250 ms.
    expect(onLaptop?.stepCosts[0]?.predictedMs).toBe(4500);
    expect(onLaptop?.totalMs).toBe(4750);
    // iOS is a phone (case-insensitively): (900/120 + 45/12) × 1000 = 11250 ms; + 250.
    expect(onPhone?.stepCosts[0]?.predictedMs).toBe(11250);
    expect(onPhone?.totalMs).toBe(11500);
    // Own prefill 450, default decode 30: (900/450 + 45/30) × 1000 = 3500 ms; + 250.
    expect(onOwn?.stepCosts[0]?.predictedMs).toBe(3500);
    expect(onOwn?.totalMs).toBe(3750);
  });

  it("says in each LLM step's notes which throughput was used", () => {
    expect(onLaptop?.stepCosts[0]?.notes).toBe(
      "using default prefill TPS 300 (laptop); using default decode TPS 30 (laptop)",
    );
    expect(onPhone?.stepCosts[0]?.notes).toBe(
      "using default prefill TPS 120 (phone); using default decode TPS 12 (phone)",
    );
    expect(onOwn?.stepCosts[0]?.notes).toBe("device prefill 450 tok/s; using default decode TPS 30 (laptop)");
  });

  it("prices light and unknown steps, every step in plan order", () => {
    expect(
      onLaptop?.stepCosts.map((s) => [s.taskId, s.kind, s.predictedMs, s.predictedMemoryMb, s.unknownCost]),
    ).toEqual([
      ["gen", "LLM_GENERATE", 4500, 2048, false],
      ["echo", "ECHO", 10, 1, false],
      ["sys", "sysinfo", 10, 1, false],
      ["render", "RENDER", 250, 0, true],
    ]);
    expect(cost.hasUnknownCosts).toBe(true);
  });

  it("takes the peak RAM as the largest group sum and compares it with free RAM (0: unknown, sufficient)", () => {
    expect(cost.deviceCosts.map((d) => [d.deviceId, d.estimatedPeakRamMb, d.ramSufficient])).toEqual([
      ["laptop", 2049, true],
      ["phone", 2049, false],
      ["own", 2049, true],
    ]);
  });

  it("recommends the cheapest device and reports its total, with the warnings", () => {
    expect(cost).toMatchObject({ totalPredictedMs: 3750, recommendedDeviceId: "own", recommendedDeviceName: "" });
    expect(cost.warning).toBe(
      "some steps have an unknown kind, priced at 250 ms each; Phone: estimated peak RAM exceeds its free RAM",
    );
  });

  it("breaks a tie on cost by the order given", () => {
    const twins = estimatePlanCost(plan, [
      { deviceId: "second", platform: "windows" },
      { deviceId: "first", platform: "linux" },
    ]);
    expect(twins.deviceCosts.map((d) => d.totalMs)).toEqual([4750, 4750]);
    expect(twins.recommendedDeviceId).toBe("second");
  });

  it("handles no devices, an empty plan and negative token counts", () => {
    expect(estimatePlanCost(plan, [])).toEqual({
      totalPredictedMs: 0,
      deviceCosts: [],
      recommendedDeviceId: "",
      recommendedDeviceName: "",
      hasUnknownCosts: false,
      warning: "no devices to price the plan on",
    });
    const empty = estimatePlanCost({ groups: [] }, [laptop]);
    expect(empty).toMatchObject({ totalPredictedMs: 0, recommendedDeviceId: "laptop", warning: "" });
    expect(empty.deviceCosts[0]).toMatchObject({ estimatedPeakRamMb: 0, ramSufficient: true, stepCosts: [] });
    expect(estimateStepCost({ kind: "llm_generate", promptTokens: -5, maxOutputTokens: 30 }, laptop).predictedMs).toBe(
      1000,
    );
  });
});
