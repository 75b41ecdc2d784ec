import type { components } from "@baton/wire/portarium";

type S = components["schemas"];
/** The statuses of a machine invocation. */
export type InvocationStatus = S["MachineInvocationStatus"];

/** One step of an invocation's plan: what happens, and when, as a fraction of its duration. */
export interface InvocationStep {
  /** When the step happens: 0 at creation, 1 at the end of the duration. */
  at: number;
  /** The status the invocation has from this step on. */
  status: InvocationStatus;
  /** How far along the invocation is. */
  progressRatio: number;
  /** What the machine is doing. */
  step: string;
  /** Why it failed, on a `failed` step. */
  diagnostics?: string;
}

/** Most steps an action may ask for in `input.steps`. */
export const MAX_ACTION_STEPS = 32;
/** Longest step name. */
const MAX_STEP_LENGTH = 128;

/** The reference machine's reading of an invocation's `input`. */
interface ActionInput {
  steps?: unknown;
  failAt?: unknown;
}

/**
 * Checks what the reference machine reads from an invocation's `input` (everything else in
 * it is the action's own business): `steps`, when given, is a list of 1 to
 * `MAX_ACTION_STEPS` (32) non-empty step names, each at most 128 characters and none of
 * them repeated; `failAt`, when given, names one of the steps the invocation runs.
 *
 * @returns the problems, keyed by JSON pointer into the request body; empty when it is fine.
 */
export function checkActionInput(request: S["MachineInvocationRequestV1"]): Record<string, string[]> {
  const input = (request.input ?? {}) as ActionInput;
  const errors: Record<string, string[]> = {};
  if (input.steps !== undefined) {
    const steps = input.steps;
    if (!Array.isArray(steps) || steps.length === 0 || steps.length > MAX_ACTION_STEPS) {
      errors["/input/steps"] = [`must be a list of 1 to ${MAX_ACTION_STEPS} step names`];
    } else {
      steps.forEach((s, i) => {
        if (typeof s !== "string" || s.trim() === "" || s.length > MAX_STEP_LENGTH) {
          errors[`/input/steps/${i}`] = [`must be a non-empty step name of at most ${MAX_STEP_LENGTH} characters`];
        } else if (steps.indexOf(s) !== i || RESERVED.has(s)) {
          errors[`/input/steps/${i}`] = [`${s} is already a step of the plan`];
        }
      });
    }
  }
  if (input.failAt !== undefined && Object.keys(errors).length === 0) {
    const running = runningSteps(request);
    if (typeof input.failAt !== "string" || !running.includes(input.failAt)) {
      errors["/input/failAt"] = [`must name a step the invocation runs: ${running.join(", ")}`];
    }
  }
  return errors;
}

const FIRST = "prepare";
const LAST = "collect-output";
const RESERVED = new Set(["queued", FIRST, LAST, "done"]);

/** The running steps: prepare, the action's steps (default: the action itself), collect-output. */
function runningSteps(request: S["MachineInvocationRequestV1"]): string[] {
  const steps = (request.input as ActionInput | undefined)?.steps;
  const own = Array.isArray(steps) ? (steps as string[]) : [request.action];
  return [FIRST, ...own, LAST];
}

/**
 * How the reference machine runs an invocation, from its request: accepted at once
 * (`queued`), then running through `prepare`, each of the action's steps (`input.steps`, or
 * the action itself), and `collect-output`, spread evenly over the invocation's duration,
 * and `completed` (`done`) at its end. When `input.failAt` names a running step, the
 * invocation fails at that step instead, with diagnostics saying so. Call
 * {@link checkActionInput} first: the plan trusts the input.
 *
 * @example
 * invocationPlan({ action: "deploy", input: { steps: ["build", "push"] }, ... }).map((s) => s.step);
 * // ["queued", "prepare", "build", "push", "collect-output", "done"]
 */
export function invocationPlan(request: S["MachineInvocationRequestV1"]): InvocationStep[] {
  const running = runningSteps(request);
  const failAt = (request.input as ActionInput | undefined)?.failAt;
  const slots = running.length + 1;
  const plan: InvocationStep[] = [{ at: 0, status: "accepted", progressRatio: 0, step: "queued" }];
  for (const [i, step] of running.entries()) {
    const at = (i + 1) / slots;
    if (step === failAt) {
      plan.push({
        at,
        status: "failed",
        progressRatio: at,
        step,
        diagnostics: `action ${request.action} failed at step ${step} (as input.failAt asked)`,
      });
      return plan;
    }
    plan.push({ at, status: "running", progressRatio: at, step });
  }
  plan.push({ at: 1, status: "completed", progressRatio: 1, step: "done" });
  return plan;
}
