import type { PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import type { EvidenceEntry } from "./evidence.js";
import { Resource } from "./resource.js";
import { RunHandle } from "./run-handle.js";

type S = components["schemas"];
/** A workflow run. */
export type Run = S["RunV1"];
/** A run's status. */
export type RunStatus = S["RunStatus"];
/** An operator intervention on a run. */
export type RunIntervention = S["RunInterventionRequest"];

const ONE = "/v1/workspaces/{workspaceId}/runs/{runId}";

/** Workflow runs: start, inspect, list, cancel, intervene, and read their evidence. */
export class RunsResource extends Resource {
  /**
   * Starts a run of a workflow and answers the run as the server created it (its `runId`
   * gives a handle: `runs.getHandle(run.runId)`).
   *
   * @throws {NotFoundError} when the workflow does not exist. @throws {ConflictError} when it is archived.
   * @example
   * ```ts
   * const run = await portarium.runs.start({ workflowId: "wf-invoice-approval", parameters: { amount: 5000 } });
   * ```
   */
  start(body: S["StartRunRequest"], options: PortariumCallOptions = {}): Promise<Run> {
    return this.call(options, (r) => r.raw.POST("/v1/workspaces/{workspaceId}/runs", { ...r.at({}), body }));
  }

  /** Gets a run. @throws {NotFoundError} */
  get(runId: string, options: PortariumCallOptions = {}): Promise<Run> {
    return this.call(options, (r) => r.raw.GET(ONE, r.at({ runId })));
  }

  /**
   * Lists runs, oldest first: `await` for one page, `for await` for every run, `.pages()`
   * page by page.
   */
  list(options: ListOptions = {}): PagedList<Run> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces/{workspaceId}/runs", r.at({}, query)));
  }

  /** Cancels a run. @throws {ConflictError} when it already finished. @throws {NotFoundError} */
  cancel(runId: string, options: PortariumCallOptions = {}): Promise<Run> {
    return this.call(options, (r) => r.raw.POST(`${ONE}/cancel`, r.at({ runId })));
  }

  /**
   * Submits an operator intervention (pause, resume, freeze, handoff, ...).
   *
   * @throws {ConflictError} when the run's state does not allow it.
   */
  intervene(runId: string, body: RunIntervention, options: PortariumCallOptions = {}): Promise<Run> {
    return this.call(options, (r) => r.raw.POST(`${ONE}/interventions`, { ...r.at({ runId }), body }));
  }

  /** The run's evidence entries, oldest first. */
  evidence(runId: string, options: ListOptions = {}): PagedList<EvidenceEntry> {
    return this.paged(options, (r, query) => r.raw.GET(`${ONE}/evidence`, r.at({ runId }, query)));
  }

  /**
   * A handle on a run, with no network call: `get`, `cancel`, `intervene` and `evidence`
   * without repeating its id. `workspaceId` binds it to a workspace other than the client's.
   *
   * @example
   * ```ts
   * const run = portarium.runs.getHandle(runId);
   * await run.intervene({ interventionType: "pause", rationale: "checking the invoice" });
   * console.log((await run.get()).status);
   * ```
   */
  getHandle(runId: string, options: { workspaceId?: string } = {}): RunHandle {
    return new RunHandle(this, runId, options.workspaceId ?? this.scope.workspaceId);
  }
}
