import type { components } from "@baton/wire/portarium";
import type { EvidenceLog } from "./evidence-log.js";
import { problems } from "./http.js";
import { checkActionInput, invocationPlan } from "./invocation-plan.js";
import type { InvocationRunner, InvocationSink } from "./invocation-runner.js";
import type { MachineService } from "./machine-service.js";
import type { InvocationRecord, PortariumStore } from "./store.js";

type S = components["schemas"];

/**
 * Machine invocations: a request to run an action on a machine, answered 202 `accepted`
 * and then run over time by the {@link InvocationRunner} along the plan the request asks
 * for (see `invocationPlan`): `running` with rising `progressRatio`, then `completed`, or
 * `failed` where the plan says so or when the machine is deregistered first. Each start and
 * finish leaves evidence. An invocation id is taken once per workspace: a repeat with the same
 * `idempotencyKey` answers the existing invocation, anything else is a 409. Invocations stay
 * readable after their machine is deregistered.
 */
export class InvocationService {
  readonly #store: PortariumStore;
  readonly #evidence: EvidenceLog;
  readonly #machines: MachineService;
  readonly #runner: InvocationRunner;

  constructor(store: PortariumStore, evidence: EvidenceLog, machines: MachineService, runner: InvocationRunner) {
    this.#store = store;
    this.#evidence = evidence;
    this.#machines = machines;
    this.#runner = runner;
  }

  /**
   * Starts an invocation; `origin` is the base URL its `statusUrl` names.
   *
   * @throws {HttpProblem} 404 for an unknown machine; 400 when the body's machine or
   *   workspace differ from the path's, or its `input` asks for an impossible plan; 409 for a
   *   taken invocation id or an offline machine.
   */
  invoke(workspaceId: string, machineId: string, b: S["MachineInvocationRequestV1"], origin: string) {
    const m = this.#machines.get(workspaceId, machineId);
    const errors: Record<string, string[]> = {};
    if (b.machineId !== m.machineId) errors["/machineId"] = ["must equal the machineId of the path"];
    if (b.workspaceId !== workspaceId) errors["/workspaceId"] = ["must equal the workspaceId of the path"];
    if (Object.keys(errors).length > 0) throw problems.invalid("invocation does not match its path", errors);
    const existing = this.#store.invocations.get(workspaceId, b.invocationId);
    if (existing) {
      if (
        existing.machineId === m.machineId &&
        b.idempotencyKey &&
        existing.request.idempotencyKey === b.idempotencyKey
      )
        return existing.response;
      throw problems.conflict(`invocation ${b.invocationId} already exists`);
    }
    const inputErrors = checkActionInput(b);
    if (Object.keys(inputErrors).length > 0) {
      throw problems.invalid("the reference machine cannot run this input", inputErrors);
    }
    if (m.status === "Offline") {
      throw problems.conflict(
        `machine ${m.machineId} is Offline: it has not reported since ${m.lastHeartbeatAtIso}; register it again`,
      );
    }
    const statusUrl = `${origin}/v1/workspaces/${encodeURIComponent(workspaceId)}/machines/${encodeURIComponent(m.machineId)}/invocations/${encodeURIComponent(b.invocationId)}`;
    const record = this.#runner.start(workspaceId, m.machineId, b, statusUrl, invocationPlan(b));
    this.#evidence.append(workspaceId, {
      correlationId: b.invocationId,
      category: "Action",
      summary: `machine ${m.hostname} invoked: ${b.action}`,
      actor: { kind: "Machine", machineId: m.machineId },
      links: { ...(b.runId ? { runId: b.runId } : {}), ...(b.planId ? { planId: b.planId } : {}) },
    });
    return record.response;
  }

  /** The latest state. @throws {HttpProblem} 404 for an unknown machine or invocation. */
  get(workspaceId: string, machineId: string, invocationId: string): S["MachineInvocationResponseV1"] {
    return this.#find(workspaceId, machineId, invocationId).response;
  }

  /**
   * Subscribes a stream to an invocation's progress events after the first `afterId` (see
   * {@link InvocationRunner.subscribe}). Returns the unsubscribe function.
   *
   * @throws {HttpProblem} 404 when the invocation does not exist on that machine.
   */
  subscribe(
    workspaceId: string,
    machineId: string,
    invocationId: string,
    afterId: number,
    sink: InvocationSink,
  ): () => void {
    this.#find(workspaceId, machineId, invocationId);
    return this.#runner.subscribe(workspaceId, invocationId, afterId, sink);
  }

  /** Records an invocation's end in the evidence log. */
  recordFinished(workspaceId: string, inv: InvocationRecord): void {
    const r = inv.response;
    this.#evidence.append(workspaceId, {
      correlationId: r.invocationId,
      category: "Action",
      summary: `machine invocation ${r.invocationId} ${r.status}${r.error ? `: ${r.error}` : ""}`,
      actor: { kind: "Machine", machineId: inv.machineId },
      links: {
        ...(inv.request.runId ? { runId: inv.request.runId } : {}),
        ...(inv.request.planId ? { planId: inv.request.planId } : {}),
      },
    });
  }

  /** An invocation of a machine (which may since have been deregistered). */
  #find(workspaceId: string, machineId: string, invocationId: string): InvocationRecord {
    const inv = this.#store.invocations.get(workspaceId, invocationId);
    if (!inv || inv.machineId !== machineId) {
      // Say which is missing: a machine that never existed, or an invocation it never ran.
      if (!inv && !this.#store.machines.get(workspaceId, machineId)) throw problems.notFound(`machine ${machineId}`);
      throw problems.notFound(`invocation ${invocationId}`);
    }
    return inv;
  }
}
