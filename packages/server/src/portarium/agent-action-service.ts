import { createHash } from "node:crypto";
import { canonicalJson, type components } from "@baton/wire/portarium";
import type { ApprovalService } from "./approval-service.js";
import { type EvidenceLog, userActor } from "./evidence-log.js";
import { problems } from "./http.js";
import { newId } from "./ids.js";
import { mustFind } from "./lookup.js";
import type { PortariumStore } from "./store.js";

type S = components["schemas"];

/** What an executed agent action answers as its `output`: what was done, and where it is recorded. */
export interface AgentActionOutput {
  /** The flow that ran. */
  flowRef: string;
  /** The run the approval gated, and its status after the action. */
  runId: string;
  /** The run's status after the action. */
  runStatus: S["RunStatus"];
  /** The plan the approval covered. */
  planId: string;
  /** The run's workflow action the flow named, when `flowRef` is one of its action ids. */
  action?: {
    /** The action's id in the workflow. */
    actionId: string;
    /** The operation it performs on its port (e.g. `invoice:create`). */
    operation: string;
    /** The port family the operation belongs to. */
    portFamily: S["PortFamily"];
  };
  /** The evidence entry that records the execution (and the payload's hash). */
  evidenceId: string;
  /** SHA-256 of the payload's canonical JSON: what exactly was executed. */
  payloadSha256: string;
  /** When it ran (ISO 8601). */
  executedAtIso: string;
  /** The user whose token executed it. */
  executedByUserId: string;
}

/**
 * Executes approved agent actions: the one thing an `Approved` approval permits. The
 * execution is recorded in the run's evidence (an `Action` entry whose payload reference
 * holds the SHA-256 of the payload's canonical JSON), the approval becomes `Executed` (a
 * second execution is a 409), and the answer says what was done: the flow, the run and its
 * status, the workflow action when `flowRef` names one of the run's workflow actions, and the
 * evidence entry. An action whose run was cancelled or failed meanwhile does not run (409).
 */
export class AgentActionService {
  readonly #store: PortariumStore;
  readonly #evidence: EvidenceLog;
  readonly #approvals: ApprovalService;

  constructor(store: PortariumStore, evidence: EvidenceLog, approvals: ApprovalService) {
    this.#store = store;
    this.#evidence = evidence;
    this.#approvals = approvals;
  }

  /**
   * Executes the action an approval approved.
   *
   * @throws {HttpProblem} 404 for an unknown approval, 409 when it is not `Approved` (or was
   *   executed already) or its run ended without succeeding.
   */
  execute(
    workspaceId: string,
    approvalId: string,
    body: S["ExecuteApprovedAgentActionRequest"],
    userId: string,
  ): S["ExecuteApprovedAgentActionResponse"] {
    const st = this.#store;
    const approval = this.#approvals.get(workspaceId, approvalId);
    if (approval.status !== "Approved") {
      throw problems.conflict(`approval ${approvalId} is ${approval.status}, not Approved`);
    }
    // Approvals are only ever created for existing runs, and runs are never deleted.
    const run = mustFind(st.runs, workspaceId, approval.runId, "run");
    if (run.status === "Cancelled" || run.status === "Failed") {
      throw problems.conflict(`run ${run.runId} is ${run.status}: its approved action no longer runs`);
    }
    const workflow = st.workflows.get(workspaceId, run.workflowId);
    const action = workflow?.actions.find((a) => a.actionId === body.flowRef);
    const executionId = newId("exec");
    const payloadSha256 = createHash("sha256")
      .update(canonicalJson(body.payload ?? {}))
      .digest("hex");
    const entry = this.#evidence.append(workspaceId, {
      correlationId: run.correlationId,
      category: "Action",
      summary: `agent action ${body.flowRef} executed${action ? `: ${action.operation}` : ""}`,
      actor: userActor(userId),
      links: { runId: approval.runId, planId: approval.planId, approvalId },
      payloadRefs: [
        {
          kind: "Snapshot",
          uri: `urn:baton:portarium:execution:${executionId}`,
          contentType: "application/json",
          sha256: payloadSha256,
        },
      ],
    });
    st.approvals.update(workspaceId, approvalId, { ...approval, status: "Executed" });
    const output: AgentActionOutput = {
      flowRef: body.flowRef,
      runId: approval.runId,
      runStatus: run.status,
      planId: approval.planId,
      ...(action
        ? { action: { actionId: action.actionId, operation: action.operation, portFamily: action.portFamily } }
        : {}),
      evidenceId: entry.evidenceId,
      payloadSha256,
      executedAtIso: entry.occurredAtIso,
      executedByUserId: userId,
    };
    return { executionId, approvalId, status: "Executed", output };
  }
}
