import type { components } from "@baton/wire/portarium";
import { type Clock, isoNow } from "../clock.js";
import { type EvidenceLog, userActor } from "./evidence-log.js";
import { problems } from "./http.js";
import { newId } from "./ids.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { RunService } from "./run-service.js";
import type { ApprovalRecord, PortariumStore } from "./store.js";

type S = components["schemas"];

/**
 * Approvals gate runs: creating one for a `Running` run moves it to `WaitingForApproval`;
 * deciding the last pending one moves the run to `Succeeded` (Approved), `Failed` (Denied)
 * or back to `Running` (RequestChanges). An approval is decided once (409 after); with a
 * `MakerChecker` constraint the requester may not decide it (403).
 */
export class ApprovalService {
  readonly #store: PortariumStore;
  readonly #clock: Clock;
  readonly #evidence: EvidenceLog;
  readonly #runs: RunService;

  constructor(store: PortariumStore, clock: Clock, evidence: EvidenceLog, runs: RunService) {
    this.#store = store;
    this.#clock = clock;
    this.#evidence = evidence;
    this.#runs = runs;
  }

  /** @throws {HttpProblem} 400 for a bad cursor. */
  list(workspaceId: string, page: PageQuery): ListPage<ApprovalRecord> {
    return pageOf(this.#store.approvals, workspaceId, "approvals", page);
  }

  /** @throws {HttpProblem} 404 for an unknown approval. */
  get(workspaceId: string, approvalId: string): ApprovalRecord {
    return mustFind(this.#store.approvals, workspaceId, approvalId, "approval");
  }

  /** Requests an approval on a run. @throws {HttpProblem} 404 for an unknown run, 409 for a finished one. */
  create(workspaceId: string, body: S["CreateApprovalRequest"], userId: string): ApprovalRecord {
    const run = this.#runs.getUnfinished(workspaceId, body.runId);
    const approval: ApprovalRecord = {
      schemaVersion: 1,
      approvalId: newId("appr"),
      workspaceId,
      ...body,
      status: "Pending",
      requestedAtIso: isoNow(this.#clock),
      requestedByUserId: userId,
    };
    this.#store.approvals.insert(workspaceId, approval.approvalId, approval);
    if (run.status === "Running")
      this.#store.runs.update(workspaceId, run.runId, { ...run, status: "WaitingForApproval" });
    this.#evidence.append(workspaceId, {
      correlationId: run.correlationId,
      category: "Approval",
      summary: `approval requested: ${approval.prompt}`,
      actor: userActor(userId),
      links: { runId: run.runId, planId: approval.planId, approvalId: approval.approvalId },
    });
    return approval;
  }

  /**
   * Decides a pending approval and moves its run on.
   *
   * @throws {HttpProblem} 404 for an unknown approval, 409 when it was decided already, 403
   *   when maker-checker forbids the requester to decide it.
   */
  decide(workspaceId: string, approvalId: string, b: S["DecideApprovalRequest"], userId: string): ApprovalRecord {
    const st = this.#store;
    const approval = this.get(workspaceId, approvalId);
    if (approval.status !== "Pending") {
      throw problems.conflict(`approval ${approvalId} was already decided (${approval.status})`);
    }
    if (b.sodConstraints?.some((c) => c.kind === "MakerChecker") && approval.requestedByUserId === userId) {
      throw problems.forbidden("maker-checker: the requester may not decide their own approval");
    }
    const decided: ApprovalRecord = {
      ...approval,
      status: b.decision,
      decidedAtIso: isoNow(this.#clock),
      decidedByUserId: userId,
      rationale: b.rationale,
    };
    st.approvals.update(workspaceId, approvalId, decided);
    const run = st.runs.get(workspaceId, approval.runId);
    this.#evidence.append(workspaceId, {
      correlationId: run?.correlationId ?? approvalId,
      category: "Approval",
      summary: `approval ${b.decision}: ${b.rationale}`,
      actor: userActor(userId),
      links: { runId: approval.runId, planId: approval.planId, approvalId },
    });
    if (run && run.status === "WaitingForApproval") {
      if (b.decision === "Denied") this.#runs.finish(run, "Failed", userId, "run failed: approval denied");
      else if (b.decision === "RequestChanges") st.runs.update(workspaceId, run.runId, { ...run, status: "Running" });
      else if (this.#runs.pendingApprovals(workspaceId, run.runId) === 0) {
        this.#runs.finish(run, "Succeeded", userId, "run succeeded: approvals granted");
      }
    }
    return decided;
  }
}
