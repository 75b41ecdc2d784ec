import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import type { OrchestratorService, Plan } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import { type PlanCost, type PlanInput, wirePlan } from "./plan.js";
import type { SessionKeeper } from "./session.js";

/** A previewed plan. */
export interface PlanPreview {
  /** An AI planner made it (baton-server: never; it uses the deterministic fallback). */
  usedAi: boolean;
  /** Notes on the planner. */
  notes: string;
  /** Why this plan. */
  rationale: string;
  /** The plan, ready for `jobs.submit({ plan })`. */
  plan: PlanInput;
  /** How outputs would be combined. */
  reduce: string;
}

/** @internal */
export function fromWirePlan(p: Plan | undefined): PlanInput {
  return {
    groups: (p?.groups ?? []).map((g) => ({
      index: g.index,
      tasks: g.tasks.map((t) => ({
        taskId: t.taskId,
        kind: t.kind,
        input: t.input,
        ...(t.targetDeviceId ? { targetDeviceId: t.targetDeviceId } : {}),
        ...(t.promptTokens ? { promptTokens: t.promptTokens } : {}),
        ...(t.maxOutputTokens ? { maxOutputTokens: t.maxOutputTokens } : {}),
      })),
    })),
  };
}

/** The `plans` resource of {@link EdgemeshClient}: preview and price plans. */
export class Plans {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper) {
    this.#raw = raw;
    this.#session = session;
  }

  /** The plan a job text would get (PreviewPlan). */
  async preview(text: string, options: { maxWorkers?: number } & CallOptions = {}): Promise<PlanPreview> {
    if (typeof text !== "string") throw new InvalidArgumentError("preview() needs the job text");
    const res = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.previewPlan({ sessionId, text, maxWorkers: options.maxWorkers ?? 0 }, connectCallOptions(options)),
      ),
    );
    return {
      usedAi: res.usedAi,
      notes: res.notes,
      rationale: res.rationale,
      plan: fromWirePlan(res.plan),
      reduce: res.reduce?.kind ?? "",
    };
  }

  /**
   * What a plan costs on each device (PreviewPlanCost), `deviceIds` limiting the set; the
   * same numbers as {@link estimatePlanCost} gives offline.
   *
   * @throws {NotFoundError} when a device id is not a live device.
   */
  async cost(plan: PlanInput, options: { deviceIds?: string[] } & CallOptions = {}): Promise<PlanCost> {
    if (!plan || !Array.isArray(plan.groups)) throw new InvalidArgumentError("cost() needs a plan with groups");
    const res = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.previewPlanCost(
          { sessionId, plan: wirePlan(plan), deviceIds: options.deviceIds ?? [] },
          connectCallOptions(options),
        ),
      ),
    );
    return {
      totalPredictedMs: res.totalPredictedMs,
      deviceCosts: res.deviceCosts.map((d) => ({
        deviceId: d.deviceId,
        deviceName: d.deviceName,
        totalMs: d.totalMs,
        stepCosts: d.stepCosts.map((s) => ({
          taskId: s.taskId,
          kind: s.kind,
          predictedMs: s.predictedMs,
          predictedMemoryMb: s.predictedMemoryMb,
          unknownCost: s.unknownCost,
          notes: s.notes,
        })),
        estimatedPeakRamMb: Number(d.estimatedPeakRamMb),
        ramSufficient: d.ramSufficient,
      })),
      recommendedDeviceId: res.recommendedDeviceId,
      recommendedDeviceName: res.recommendedDeviceName,
      hasUnknownCosts: res.hasUnknownCosts,
      warning: res.warning,
    };
  }
}
