import type { components } from "@baton/wire/portarium";
import { newId } from "./ids.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { PortariumStore, WorkflowRecord } from "./store.js";

type S = components["schemas"];

/**
 * Workflows: versioned definitions (tier and ordered actions) that runs start from. Every
 * change bumps the version; archiving deactivates a workflow, which then starts no runs.
 */
export class WorkflowService {
  readonly #store: PortariumStore;

  constructor(store: PortariumStore) {
    this.#store = store;
  }

  /** @throws {HttpProblem} 400 for a bad cursor. */
  list(workspaceId: string, page: PageQuery): ListPage<WorkflowRecord> {
    return pageOf(this.#store.workflows, workspaceId, "workflows", page);
  }

  /** Creates an active workflow at version 1. */
  create(workspaceId: string, body: S["CreateWorkflowRequest"]): WorkflowRecord {
    const wf: WorkflowRecord = {
      schemaVersion: 1,
      workflowId: newId("wf"),
      workspaceId,
      name: body.name,
      ...(body.description !== undefined ? { description: body.description } : {}),
      version: 1,
      active: true,
      executionTier: body.executionTier,
      actions: body.actions,
    };
    return this.#store.workflows.insert(workspaceId, wf.workflowId, wf);
  }

  /** @throws {HttpProblem} 404 for an unknown workflow. */
  get(workspaceId: string, workflowId: string): WorkflowRecord {
    return mustFind(this.#store.workflows, workspaceId, workflowId, "workflow");
  }

  /** Applies the given fields and bumps the version. @throws {HttpProblem} 404 for an unknown workflow. */
  update(workspaceId: string, workflowId: string, body: S["UpdateWorkflowRequest"]): WorkflowRecord {
    const wf = this.get(workspaceId, workflowId);
    return this.#store.workflows.update(workspaceId, workflowId, { ...wf, ...body, version: wf.version + 1 });
  }

  /** Deactivates a workflow (idempotent). @throws {HttpProblem} 404 for an unknown workflow. */
  archive(workspaceId: string, workflowId: string): void {
    const wf = this.get(workspaceId, workflowId);
    if (wf.active) {
      this.#store.workflows.update(workspaceId, workflowId, { ...wf, active: false, version: wf.version + 1 });
    }
  }
}
