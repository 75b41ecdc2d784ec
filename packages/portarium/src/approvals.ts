import type { PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import { type ListOptions, type PortariumCallOptions, withIdempotencyKey } from "./call.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** An approval gate. */
export type Approval = S["ApprovalV1"];

const ONE = "/v1/workspaces/{workspaceId}/approvals/{approvalId}";

/** Approval gates: request, list, inspect, decide. */
export class ApprovalsResource extends Resource {
  /** Requests an approval for a run (the run waits for it). @throws {NotFoundError} @throws {ConflictError} */
  create(body: S["CreateApprovalRequest"], options: PortariumCallOptions = {}): Promise<Approval> {
    return this.call(options, (r) => r.raw.POST("/v1/workspaces/{workspaceId}/approvals", { ...r.at({}), body }));
  }

  /** Lists approvals, oldest first. */
  list(options: ListOptions = {}): PagedList<Approval> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces/{workspaceId}/approvals", r.at({}, query)));
  }

  /** Gets an approval. @throws {NotFoundError} */
  get(approvalId: string, options: PortariumCallOptions = {}): Promise<Approval> {
    return this.call(options, (r) => r.raw.GET(ONE, r.at({ approvalId })));
  }

  /**
   * Decides a pending approval. Sent with an `Idempotency-Key` (generated unless given), so
   * it is retried safely and a repeat answers the first decision.
   *
   * @throws {ConflictError} when it was already decided.
   */
  decide(approvalId: string, body: S["DecideApprovalRequest"], options: PortariumCallOptions = {}): Promise<Approval> {
    return this.call(withIdempotencyKey(options), (r) =>
      r.raw.POST(`${ONE}/decide`, { ...r.at({ approvalId }), body }),
    );
  }
}
