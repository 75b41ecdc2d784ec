import type { PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** A workflow definition. */
export type Workflow = S["WorkflowV1"];

const ONE = "/v1/workspaces/{workspaceId}/workflows/{workflowId}";

/** Workflow definitions. */
export class WorkflowsResource extends Resource {
  /** Creates a workflow. @throws {InvalidArgumentError} when the definition is invalid. */
  create(body: S["CreateWorkflowRequest"], options: PortariumCallOptions = {}): Promise<Workflow> {
    return this.call(options, (r) => r.raw.POST("/v1/workspaces/{workspaceId}/workflows", { ...r.at({}), body }));
  }

  /** Gets a workflow. @throws {NotFoundError} */
  get(workflowId: string, options: PortariumCallOptions = {}): Promise<Workflow> {
    return this.call(options, (r) => r.raw.GET(ONE, r.at({ workflowId })));
  }

  /** Lists workflows, oldest first. */
  list(options: ListOptions = {}): PagedList<Workflow> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces/{workspaceId}/workflows", r.at({}, query)));
  }

  /** Updates a workflow (its version increases). @throws {NotFoundError} */
  update(workflowId: string, body: S["UpdateWorkflowRequest"], options: PortariumCallOptions = {}): Promise<Workflow> {
    return this.call(options, (r) => r.raw.PATCH(ONE, { ...r.at({ workflowId }), body }));
  }

  /** Archives a workflow: it stays readable, new runs of it are refused. @throws {NotFoundError} */
  archive(workflowId: string, options: PortariumCallOptions = {}): Promise<void> {
    return this.callEmpty(options, (r) => r.raw.DELETE(ONE, r.at({ workflowId })));
  }
}
