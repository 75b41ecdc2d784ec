import type { PagedList } from "@baton/core";
import { inWorkspace, type ListOptions, type PortariumCallOptions } from "./call.js";
import type { EvidenceEntry } from "./evidence.js";
import type { Run, RunIntervention, RunsResource } from "./runs.js";

/** One run, by id: made by `runs.getHandle(runId)` without a network call. */
export class RunHandle {
  /** The run's id. */
  readonly id: string;
  /** The workspace the run is in (undefined: every call must name one). */
  readonly workspaceId: string | undefined;
  readonly #runs: RunsResource;

  /** @internal Use `runs.getHandle(runId)`. */
  constructor(runs: RunsResource, id: string, workspaceId: string | undefined) {
    this.#runs = runs;
    this.id = id;
    this.workspaceId = workspaceId;
  }

  /** The run's current state. @throws {NotFoundError} */
  get(options: PortariumCallOptions = {}): Promise<Run> {
    return this.#runs.get(this.id, inWorkspace(options, this.workspaceId));
  }

  /** Cancels the run. @throws {ConflictError} when it already finished. */
  cancel(options: PortariumCallOptions = {}): Promise<Run> {
    return this.#runs.cancel(this.id, inWorkspace(options, this.workspaceId));
  }

  /** Submits an operator intervention. @throws {ConflictError} when the run's state does not allow it. */
  intervene(body: RunIntervention, options: PortariumCallOptions = {}): Promise<Run> {
    return this.#runs.intervene(this.id, body, inWorkspace(options, this.workspaceId));
  }

  /** The run's evidence entries, oldest first. */
  evidence(options: ListOptions = {}): PagedList<EvidenceEntry> {
    return this.#runs.evidence(this.id, inWorkspace(options, this.workspaceId));
  }
}
