import type { components } from "@baton/wire/portarium";
import { type PortariumCallOptions, withIdempotencyKey } from "./call.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** The result of executing an approved agent action. */
export type AgentActionExecution = S["ExecuteApprovedAgentActionResponse"];

/** Agent actions an approval has cleared. */
export class AgentActionsResource extends Resource {
  /**
   * Executes the agent action an approval cleared. Sent with an `Idempotency-Key`
   * (generated unless given): retried safely, and a repeat answers the first execution.
   *
   * @throws {ConflictError} when the approval is not `Approved` (or already executed).
   */
  execute(
    approvalId: string,
    body: S["ExecuteApprovedAgentActionRequest"],
    options: PortariumCallOptions = {},
  ): Promise<AgentActionExecution> {
    return this.call(withIdempotencyKey(options), (r) =>
      r.raw.POST("/v1/workspaces/{workspaceId}/agent-actions/{approvalId}/execute", { ...r.at({ approvalId }), body }),
    );
  }
}
