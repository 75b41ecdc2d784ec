import { describe, expect, it } from "vitest";
import { checkActionInput, invocationPlan, MAX_ACTION_STEPS } from "./invocation-plan.js";

const request = (action: string, input?: Record<string, unknown>) => ({
  schemaVersion: 1 as const,
  invocationId: "inv-1",
  machineId: "m-1",
  workspaceId: "ws",
  action,
  ...(input ? { input } : {}),
});

describe("invocationPlan", () => {
  it("runs the action itself between prepare and collect-output when the input names no steps", () => {
    const plan = invocationPlan(request("compile", { target: "x" }));
    expect(plan.map((s) => [s.at, s.status, s.progressRatio, s.step])).toEqual([
      [0, "accepted", 0, "queued"],
      [0.25, "running", 0.25, "prepare"],
      [0.5, "running", 0.5, "compile"],
      [0.75, "running", 0.75, "collect-output"],
      [1, "completed", 1, "done"],
    ]);
  });

  it("runs the steps the input asks for, spread evenly over the duration", () => {
    const plan = invocationPlan(request("deploy", { steps: ["build", "push", "roll-out"] }));
    expect(plan.map((s) => s.step)).toEqual([
      "queued",
      "prepare",
      "build",
      "push",
      "roll-out",
      "collect-output",
      "done",
    ]);
    expect(plan.map((s) => s.at)).toEqual([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1]);
    expect(plan.every((s) => s.progressRatio === s.at)).toBe(true);
  });

  it("fails at the step input.failAt names, and runs nothing after it", () => {
    const plan = invocationPlan(request("deploy", { steps: ["build", "push"], failAt: "build" }));
    expect(plan.map((s) => [s.status, s.step])).toEqual([
      ["accepted", "queued"],
      ["running", "prepare"],
      ["failed", "build"],
    ]);
    expect(plan.at(-1)?.diagnostics).toBe("action deploy failed at step build (as input.failAt asked)");
    expect(invocationPlan(request("sync", { failAt: "collect-output" })).at(-1)).toMatchObject({
      status: "failed",
      at: 0.75,
    });
  });
});

describe("checkActionInput", () => {
  it("accepts no input, other input keys, and well-formed steps and failAt", () => {
    expect(checkActionInput(request("compile"))).toEqual({});
    expect(checkActionInput(request("compile", { target: "x", frames: 3 }))).toEqual({});
    expect(checkActionInput(request("deploy", { steps: ["build", "push"], failAt: "push" }))).toEqual({});
    expect(checkActionInput(request("deploy", { failAt: "deploy" }))).toEqual({});
  });

  it("names each malformed step and a failAt the plan does not run", () => {
    expect(checkActionInput(request("x", { steps: [] }))).toEqual({
      "/input/steps": [`must be a list of 1 to ${MAX_ACTION_STEPS} step names`],
    });
    expect(checkActionInput(request("x", { steps: "build" }))).toHaveProperty(["/input/steps"]);
    expect(
      checkActionInput(request("x", { steps: Array.from({ length: MAX_ACTION_STEPS + 1 }, (_, i) => `s${i}`) })),
    ).toHaveProperty(["/input/steps"]);
    expect(
      Object.keys(checkActionInput(request("x", { steps: ["ok", "", 3, "ok", "prepare", "y".repeat(129)] }))),
    ).toEqual(["/input/steps/1", "/input/steps/2", "/input/steps/3", "/input/steps/4", "/input/steps/5"]);
    expect(checkActionInput(request("deploy", { steps: ["build"], failAt: "deploy" }))).toEqual({
      "/input/failAt": ["must name a step the invocation runs: prepare, build, collect-output"],
    });
    expect(checkActionInput(request("deploy", { failAt: 7 }))).toHaveProperty(["/input/failAt"]);
  });
});
