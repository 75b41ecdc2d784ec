/**
 * edgemesh's plan cost model, as one pure function: `baton-server` answers
 * `PreviewPlanCost` with it and `@baton/edgemesh` exports it as `estimatePlanCost`, so a
 * plan priced offline gets exactly the server's numbers.
 *
 * The model (the seed's formula):
 * - `LLM_GENERATE`: `(prompt_tokens / prefill_tps + max_output_tokens / decode_tps) × 1000` ms,
 *   with the device's own throughput (`llm_prefill_toks_per_s`, `llm_decode_toks_per_s`) where
 *   it is above 0, else the platform default: phones (`android`, `ios`) 120 / 12 tokens/s,
 *   every other platform (laptops and desktops: `darwin`, `windows`, `linux`, ...) 300 / 30;
 *   the step's notes say which default was used. Memory {@link LLM_MEMORY_MB}.
 * - `SYSINFO` and `ECHO`: {@link LIGHT_TASK_MS} ms, {@link LIGHT_TASK_MEMORY_MB} MB.
 * - any other kind: {@link UNKNOWN_TASK_MS} ms, 0 MB, `unknown_cost`.
 * - a group costs the max of its tasks (they run in parallel), a plan the sum of its groups;
 *   the peak RAM is the largest sum of a group's task memory, `ram_sufficient` when it fits in
 *   `ram_free_mb` (0 means unknown, counted as sufficient).
 * - the recommended device is the cheapest (ties: the first in the order given), and
 *   `total_predicted_ms` is its total.
 *
 * Kinds are matched case-insensitively.
 *
 * @packageDocumentation
 */

/** Prefill and decode throughput (tokens/s) assumed for a phone without its own figures. */
export const PHONE_DEFAULT_TPS = {
  /** Prompt tokens a phone is assumed to read per second. */
  prefill: 120,
  /** Output tokens a phone is assumed to generate per second. */
  decode: 12,
} as const;
/** Prefill and decode throughput (tokens/s) assumed for any other device without its own figures. */
export const LAPTOP_DEFAULT_TPS = {
  /** Prompt tokens a non-phone device is assumed to read per second. */
  prefill: 300,
  /** Output tokens a non-phone device is assumed to generate per second. */
  decode: 30,
} as const;
/** Platforms priced as phones; every other platform is priced as a laptop. */
export const PHONE_PLATFORMS: readonly string[] = ["android", "ios"];
/** Predicted time of a `SYSINFO` or `ECHO` step, ms. */
export const LIGHT_TASK_MS = 10;
/** Predicted memory of a `SYSINFO` or `ECHO` step, MB. */
export const LIGHT_TASK_MEMORY_MB = 1;
/** Predicted time of a step of unknown kind, ms. */
export const UNKNOWN_TASK_MS = 250;
/** Predicted memory of an `LLM_GENERATE` step (a small local model and its context), MB. */
export const LLM_MEMORY_MB = 2048;

/** A task as the cost model reads it (a generated `TaskSpec` fits). */
export interface CostTaskInput {
  /** Task id, copied to the step. */
  readonly taskId?: string;
  /** `SYSINFO`, `ECHO`, `LLM_GENERATE`, or anything else (unknown cost). */
  readonly kind: string;
  /** LLM_GENERATE: estimated prompt tokens. */
  readonly promptTokens?: number;
  /** LLM_GENERATE: max output tokens. */
  readonly maxOutputTokens?: number;
}

/** A plan as the cost model reads it (a generated `Plan` fits). */
export interface CostPlanInput {
  /** Groups, run one after the other. */
  readonly groups: ReadonlyArray<{
    /** The group's tasks, run in parallel: the group costs as much as its slowest task. */
    readonly tasks: ReadonlyArray<CostTaskInput>;
  }>;
}

/** A device as the cost model reads it (a generated `DeviceInfo` fits). */
export interface CostDeviceInput {
  /** Device id. */
  readonly deviceId: string;
  /** Device name. */
  readonly deviceName?: string;
  /** Platform: `android` and `ios` are phones, anything else a laptop. */
  readonly platform?: string;
  /** Own prefill throughput, tokens/s; 0 or unset: the platform default. */
  readonly llmPrefillToksPerS?: number;
  /** Own decode throughput, tokens/s; 0 or unset: the platform default. */
  readonly llmDecodeToksPerS?: number;
  /** Free RAM, MB; 0 or unset: unknown. */
  readonly ramFreeMb?: bigint | number;
}

/** One task's predicted cost on one device. */
export interface StepCost {
  /** Task id. */
  taskId: string;
  /** Task kind, as given. */
  kind: string;
  /** Predicted time, ms. */
  predictedMs: number;
  /** Predicted memory, MB. */
  predictedMemoryMb: number;
  /** The kind is unknown: the time is a guess. */
  unknownCost: boolean;
  /** How the step was priced (which throughput, which default). */
  notes: string;
}

/** A whole plan's predicted cost on one device. */
export interface DeviceCost {
  /** Device id. */
  deviceId: string;
  /** Device name. */
  deviceName: string;
  /** Sum over groups of the slowest task of each, ms. */
  totalMs: number;
  /** Every task, in plan order. */
  stepCosts: StepCost[];
  /** The largest memory sum of one group, MB (rounded up). */
  estimatedPeakRamMb: number;
  /** The peak fits in the device's free RAM (or the free RAM is unknown). */
  ramSufficient: boolean;
}

/** What a plan costs across devices: `PreviewPlanCost`'s answer as plain data. */
export interface PlanCost {
  /** The recommended device's total, ms (0 without devices). */
  totalPredictedMs: number;
  /** Per device, in the order given. */
  deviceCosts: DeviceCost[];
  /** The cheapest device ("" without devices). */
  recommendedDeviceId: string;
  /** Its name. */
  recommendedDeviceName: string;
  /** Some step's kind is unknown. */
  hasUnknownCosts: boolean;
  /** What to look out for ("" when nothing). */
  warning: string;
}

function throughput(device: CostDeviceInput): { prefill: number; decode: number; notes: string[] } {
  const phone = PHONE_PLATFORMS.includes((device.platform ?? "").toLowerCase());
  const defaults = phone ? PHONE_DEFAULT_TPS : LAPTOP_DEFAULT_TPS;
  const what = phone ? "phone" : "laptop";
  const notes: string[] = [];
  const ownPrefill = device.llmPrefillToksPerS ?? 0;
  const ownDecode = device.llmDecodeToksPerS ?? 0;
  const prefill = ownPrefill > 0 ? ownPrefill : defaults.prefill;
  const decode = ownDecode > 0 ? ownDecode : defaults.decode;
  notes.push(
    ownPrefill > 0 ? `device prefill ${prefill} tok/s` : `using default prefill TPS ${prefill} (${what})`,
    ownDecode > 0 ? `device decode ${decode} tok/s` : `using default decode TPS ${decode} (${what})`,
  );
  return { prefill, decode, notes };
}

/** Prices one task on one device. */
export function estimateStepCost(task: CostTaskInput, device: CostDeviceInput): StepCost {
  const kind = task.kind.toUpperCase();
  const base = { taskId: task.taskId ?? "", kind: task.kind };
  if (kind === "LLM_GENERATE") {
    const tps = throughput(device);
    const prompt = Math.max(0, task.promptTokens ?? 0);
    const output = Math.max(0, task.maxOutputTokens ?? 0);
    const predictedMs = (prompt / tps.prefill + output / tps.decode) * 1000;
    return { ...base, predictedMs, predictedMemoryMb: LLM_MEMORY_MB, unknownCost: false, notes: tps.notes.join("; ") };
  }
  if (kind === "SYSINFO" || kind === "ECHO") {
    return {
      ...base,
      predictedMs: LIGHT_TASK_MS,
      predictedMemoryMb: LIGHT_TASK_MEMORY_MB,
      unknownCost: false,
      notes: "fixed cost",
    };
  }
  return {
    ...base,
    predictedMs: UNKNOWN_TASK_MS,
    predictedMemoryMb: 0,
    unknownCost: true,
    notes: `unknown kind ${JSON.stringify(task.kind)}: assumed ${UNKNOWN_TASK_MS} ms`,
  };
}

/**
 * Prices a plan on each device (the seed's formula; see the module documentation) and
 * recommends the cheapest. Pure: the same plan and devices always give the same numbers,
 * the same as `PreviewPlanCost` answers for them.
 *
 * @example
 * ```ts
 * const cost = estimatePlanCost(
 *   { groups: [{ tasks: [{ taskId: "t1", kind: "LLM_GENERATE", promptTokens: 600, maxOutputTokens: 60 }] }] },
 *   [{ deviceId: "phone", platform: "android" }],
 * );
 * cost.totalPredictedMs; // (600/120 + 60/12) * 1000 = 10000
 * ```
 */
export function estimatePlanCost(plan: CostPlanInput, devices: readonly CostDeviceInput[]): PlanCost {
  const deviceCosts: DeviceCost[] = devices.map((device) => {
    const stepCosts: StepCost[] = [];
    let totalMs = 0;
    let peak = 0;
    for (const group of plan.groups) {
      let slowest = 0;
      let memory = 0;
      for (const task of group.tasks) {
        const step = estimateStepCost(task, device);
        stepCosts.push(step);
        slowest = Math.max(slowest, step.predictedMs);
        memory += step.predictedMemoryMb;
      }
      totalMs += slowest;
      peak = Math.max(peak, memory);
    }
    const free = Number(device.ramFreeMb ?? 0);
    const estimatedPeakRamMb = Math.ceil(peak);
    return {
      deviceId: device.deviceId,
      deviceName: device.deviceName ?? "",
      totalMs,
      stepCosts,
      estimatedPeakRamMb,
      ramSufficient: free === 0 || estimatedPeakRamMb <= free,
    };
  });
  let best: DeviceCost | undefined;
  for (const d of deviceCosts) if (!best || d.totalMs < best.totalMs) best = d;
  const hasUnknownCosts = deviceCosts.some((d) => d.stepCosts.some((s) => s.unknownCost));
  const warnings: string[] = [];
  if (devices.length === 0) warnings.push("no devices to price the plan on");
  if (hasUnknownCosts) warnings.push(`some steps have an unknown kind, priced at ${UNKNOWN_TASK_MS} ms each`);
  for (const d of deviceCosts) {
    if (!d.ramSufficient) warnings.push(`${d.deviceName || d.deviceId}: estimated peak RAM exceeds its free RAM`);
  }
  return {
    totalPredictedMs: best?.totalMs ?? 0,
    deviceCosts,
    recommendedDeviceId: best?.deviceId ?? "",
    recommendedDeviceName: best?.deviceName ?? "",
    hasUnknownCosts,
    warning: warnings.join("; "),
  };
}
