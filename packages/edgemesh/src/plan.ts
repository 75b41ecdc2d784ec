import { type CostDeviceInput, estimatePlanCost as estimateWirePlanCost, type PlanCost } from "@baton/wire/edgemesh";
import type { Device } from "./devices.js";

export type { DeviceCost, PlanCost, StepCost } from "@baton/wire/edgemesh";

/** A task of a plan. */
export interface TaskSpecInput {
  /** Task id (default: `g<group>-t<task>`). */
  taskId?: string;
  /** `SYSINFO` (real system facts), `ECHO` (echoes `input`), `LLM_GENERATE` (needs a local model). */
  kind: string;
  /** Its input (ECHO's text, LLM_GENERATE's prompt). */
  input?: string;
  /** Where to run it; unset: chosen by the server. */
  targetDeviceId?: string;
  /** LLM_GENERATE: estimated prompt tokens (for the cost model). */
  promptTokens?: number;
  /** LLM_GENERATE: max output tokens (for the cost model). */
  maxOutputTokens?: number;
}

/** A plan: groups run one after the other, the tasks of a group in parallel. */
export interface PlanInput {
  /** The groups, in order (`index` defaults to the position). */
  groups: Array<{
    /** The group's 0-based position in the plan; defaults to its position in `groups`. */
    index?: number;
    /** The tasks of the group, run in parallel. */
    tasks: TaskSpecInput[];
  }>;
}

/**
 * Builds a plan group by group, so nobody hand-builds messages.
 *
 * @example
 * ```ts
 * const plan = new PlanBuilder()
 *   .group({ kind: "SYSINFO", targetDeviceId: "laptop" }, { kind: "SYSINFO", targetDeviceId: "phone" })
 *   .group({ kind: "ECHO", input: "done" })
 *   .build();
 * ```
 */
export class PlanBuilder {
  readonly #groups: TaskSpecInput[][] = [];

  /** Adds a group of tasks that run in parallel, after every group added before. */
  group(...tasks: TaskSpecInput[]): this {
    this.#groups.push(tasks.map((t) => ({ ...t })));
    return this;
  }

  /** The plan, task ids filled in as `g<group>-t<task>` where none was given. */
  build(): PlanInput {
    return {
      groups: this.#groups.map((tasks, gi) => ({
        index: gi,
        tasks: tasks.map((t, ti) => ({ ...t, taskId: t.taskId ?? `g${gi}-t${ti}` })),
      })),
    };
  }
}

/** @internal The wire form of a plan. */
export function wirePlan(plan: PlanInput) {
  return {
    groups: plan.groups.map((g, gi) => ({
      index: g.index ?? gi,
      tasks: g.tasks.map((t) => ({
        taskId: t.taskId ?? "",
        kind: t.kind,
        input: t.input ?? "",
        targetDeviceId: t.targetDeviceId ?? "",
        promptTokens: t.promptTokens ?? 0,
        maxOutputTokens: t.maxOutputTokens ?? 0,
      })),
    })),
  };
}

/**
 * Prices a plan offline with edgemesh's cost model: the same function `baton-server`
 * answers `PreviewPlanCost` with, so the numbers are exactly the server's for the same
 * devices in the same order (`mesh.devices.list()` gives the server's order). See
 * `@baton/wire/edgemesh` for the formula: LLM_GENERATE is
 * `(prompt_tokens / prefill_tps + max_output_tokens / decode_tps) × 1000` ms with the device's
 * own throughput or the platform default (laptops 300/30, phones 120/12); SYSINFO and ECHO
 * 10 ms; unknown kinds 250 ms; groups cost their slowest task, plans the sum of their groups.
 *
 * @example
 * ```ts
 * const cost = estimatePlanCost(plan, await mesh.devices.list().toArray());
 * console.log(cost.recommendedDeviceName, cost.totalPredictedMs);
 * ```
 */
export function estimatePlanCost(plan: PlanInput, devices: ReadonlyArray<Device | CostDeviceInput>): PlanCost {
  return estimateWirePlanCost(
    wirePlan(plan),
    devices.map((d) =>
      "deviceId" in d
        ? d
        : {
            deviceId: d.id,
            deviceName: d.name,
            platform: d.platform,
            llmPrefillToksPerS: d.llmPrefillToksPerS,
            llmDecodeToksPerS: d.llmDecodeToksPerS,
            ramFreeMb: d.ramFreeMb,
          },
    ),
  );
}
