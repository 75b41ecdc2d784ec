import type { components } from "@baton/wire/portarium";
import { type Clock, isoNow } from "../clock.js";
import { type EvidenceLog, userActor } from "./evidence-log.js";
import { problems } from "./http.js";
import { newId } from "./ids.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { EvidenceRecord, PortariumStore, RunRecord } from "./store.js";

type S = components["schemas"];

/** The statuses after which a run changes no more. */
export const TERMINAL_RUN: ReadonlySet<S["RunStatus"]> = new Set(["Succeeded", "Failed", "Cancelled"]);

/**
 * Runs and their lifecycle:
 * - `start` needs an existing workflow (404 otherwise) that is active (409 when archived).
 *   A workflow whose tier and actions are all `Auto` runs its actions in order and ends
 *   `Succeeded` at once; any other run is `Running` until an operator acts.
 * - Interventions: `pause` (to `Paused`), `resume` (back to `Running`, or
 *   `WaitingForApproval` while approvals are pending), `freeze` (control state `frozen`),
 *   `handoff` (`operator-owned`, owner `target`), `escalate` (`blocked`),
 *   `emergency-disable` (`Cancelled`); the others only leave evidence. Every intervention
 *   leaves evidence; any intervention or cancel on a finished run is a 409.
 * - Finishing a run expires its pending approvals.
 */
export class RunService {
  readonly #store: PortariumStore;
  readonly #clock: Clock;
  readonly #evidence: EvidenceLog;

  constructor(store: PortariumStore, clock: Clock, evidence: EvidenceLog) {
    this.#store = store;
    this.#clock = clock;
    this.#evidence = evidence;
  }

  /** @throws {HttpProblem} 400 for a bad cursor. */
  list(workspaceId: string, page: PageQuery): ListPage<RunRecord> {
    return pageOf(this.#store.runs, workspaceId, "runs", page);
  }

  /** @throws {HttpProblem} 404 for an unknown run. */
  get(workspaceId: string, runId: string): RunRecord {
    return mustFind(this.#store.runs, workspaceId, runId, "run");
  }

  /** @throws {HttpProblem} 404 for an unknown run, 409 for a finished one. */
  getUnfinished(workspaceId: string, runId: string): RunRecord {
    const run = this.get(workspaceId, runId);
    if (TERMINAL_RUN.has(run.status)) throw problems.conflict(`run ${run.runId} is already ${run.status}`);
    return run;
  }

  /**
   * Starts a run of a workflow's current version.
   *
   * @throws {HttpProblem} 404 for an unknown workflow, 409 for an archived one.
   */
  start(workspaceId: string, body: S["StartRunRequest"], userId: string): RunRecord {
    const wf = this.#store.workflows.get(workspaceId, body.workflowId);
    if (!wf) throw problems.notFound(`workflow ${body.workflowId}`);
    if (!wf.active) throw problems.conflict(`workflow ${wf.workflowId} is archived`);
    const at = isoNow(this.#clock);
    const runId = newId("run");
    const auto = wf.executionTier === "Auto" && wf.actions.every((a) => (a.executionTierOverride ?? "Auto") === "Auto");
    const run: RunRecord = {
      schemaVersion: 1,
      runId,
      workspaceId,
      workflowId: wf.workflowId,
      correlationId: newId("corr"),
      executionTier: wf.executionTier,
      initiatedByUserId: userId,
      status: auto ? "Succeeded" : "Running",
      createdAtIso: at,
      startedAtIso: at,
      ...(auto ? { endedAtIso: at } : {}),
    };
    this.#store.runs.insert(workspaceId, runId, run);
    const links = { runId };
    this.#evidence.append(workspaceId, {
      correlationId: run.correlationId,
      category: "System",
      summary: `run started from workflow ${wf.workflowId} v${wf.version}`,
      actor: userActor(userId),
      links,
    });
    if (auto) {
      for (const a of [...wf.actions].sort((x, y) => x.order - y.order)) {
        this.#evidence.append(workspaceId, {
          correlationId: run.correlationId,
          category: "Action",
          summary: `action ${a.actionId} ${a.operation} executed`,
          links,
        });
      }
      this.#evidence.append(workspaceId, {
        correlationId: run.correlationId,
        category: "System",
        summary: "run succeeded",
        links,
      });
    }
    return run;
  }

  /** @throws {HttpProblem} 404 for an unknown run, 409 for a finished one. */
  cancel(workspaceId: string, runId: string, userId: string): RunRecord {
    return this.finish(this.getUnfinished(workspaceId, runId), "Cancelled", userId, "run cancelled");
  }

  /**
   * Applies an operator's intervention.
   *
   * @throws {HttpProblem} 404 for an unknown run, 409 for a finished run or a pause of a
   *   paused one (a resume of one that is not paused).
   */
  intervene(workspaceId: string, runId: string, b: S["RunInterventionRequest"], userId: string): RunRecord {
    const run = this.getUnfinished(workspaceId, runId);
    let next: RunRecord = run;
    switch (b.interventionType) {
      case "pause":
        if (run.status === "Paused") throw problems.conflict(`run ${runId} is already Paused`);
        next = { ...run, status: "Paused" };
        break;
      case "resume": {
        if (run.status !== "Paused") throw problems.conflict(`run ${runId} is ${run.status}, not Paused`);
        const { controlState: _frozen, ...rest } = run;
        next = { ...rest, status: this.pendingApprovals(workspaceId, runId) > 0 ? "WaitingForApproval" : "Running" };
        break;
      }
      case "freeze":
        next = { ...run, controlState: "frozen" };
        break;
      case "handoff":
        next = { ...run, controlState: "operator-owned", operatorOwnerId: b.target ?? userId };
        break;
      case "escalate":
        next = { ...run, controlState: "blocked" };
        break;
      case "emergency-disable":
        return this.finish(run, "Cancelled", userId, `run disabled: ${b.rationale}`);
      default:
        break;
    }
    if (next !== run) this.#store.runs.update(workspaceId, runId, next);
    this.#evidence.append(workspaceId, {
      correlationId: run.correlationId,
      category: "OperatorSurface",
      summary: `intervention ${b.interventionType}: ${b.rationale}`,
      actor: userActor(userId),
      links: { runId },
    });
    return next;
  }

  /** A page of a run's evidence. @throws {HttpProblem} 404 for an unknown run, 400 for a bad cursor. */
  evidence(workspaceId: string, runId: string, page: PageQuery): ListPage<EvidenceRecord> {
    const run = this.get(workspaceId, runId);
    return this.#evidence.list(workspaceId, { runId: run.runId }, page);
  }

  /** How many approvals of the run are still pending. */
  pendingApprovals(workspaceId: string, runId: string): number {
    return this.#store.approvals.all(workspaceId, (a) => a.runId === runId && a.status === "Pending").length;
  }

  /** Moves a run to a final status, expires its pending approvals and records why. */
  finish(run: RunRecord, status: S["RunStatus"], userId: string, summary: string): RunRecord {
    const st = this.#store;
    const done: RunRecord = { ...run, status, endedAtIso: isoNow(this.#clock) };
    st.runs.update(run.workspaceId, run.runId, done);
    for (const a of st.approvals.all(run.workspaceId, (x) => x.runId === run.runId && x.status === "Pending")) {
      st.approvals.update(run.workspaceId, a.approvalId, { ...a, status: "Expired" });
    }
    this.#evidence.append(run.workspaceId, {
      correlationId: run.correlationId,
      category: "System",
      summary,
      actor: userActor(userId),
      links: { runId: run.runId },
    });
    return done;
  }
}
