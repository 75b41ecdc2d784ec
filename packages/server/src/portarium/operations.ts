import { accepted, created, noContent, type OperationEntry, ok, operation } from "./operation.js";
import type { PortariumService } from "./portarium-service.js";
import type { TokenIssuer } from "./tokens.js";

/**
 * The operation table: one entry per operation of the Portarium OpenAPI document, with
 * its method, path template, operation id and handler. The router matches requests against
 * it and refuses to start when it and the document disagree; the handlers get requests that
 * are authenticated, scoped to the token's workspace and validated against the document.
 */
export function portariumOperations(s: PortariumService, tokens: TokenIssuer): OperationEntry[] {
  return [
    operation("post", "/v1/auth/token", "issueToken", async (r) => ({
      status: 200,
      body: await tokens.issue(r.body),
      headers: { "cache-control": "no-store" },
    })),

    operation("get", "/v1/workspaces", "listWorkspaces", (r) => ok(s.workspaces.list(r.claims?.workspace, r.query))),
    operation("get", "/v1/workspaces/{workspaceId}", "getWorkspace", (r) => ok(s.workspaces.get(r.path.workspaceId))),

    operation("get", "/v1/workspaces/{workspaceId}/workflows", "listWorkflows", (r) =>
      ok(s.workflows.list(r.path.workspaceId, r.query)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/workflows", "createWorkflow", (r) =>
      created(s.workflows.create(r.path.workspaceId, r.body)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/workflows/{workflowId}", "getWorkflow", (r) =>
      ok(s.workflows.get(r.path.workspaceId, r.path.workflowId)),
    ),
    operation("patch", "/v1/workspaces/{workspaceId}/workflows/{workflowId}", "updateWorkflow", (r) =>
      ok(s.workflows.update(r.path.workspaceId, r.path.workflowId, r.body)),
    ),
    operation("delete", "/v1/workspaces/{workspaceId}/workflows/{workflowId}", "archiveWorkflow", (r) => {
      s.workflows.archive(r.path.workspaceId, r.path.workflowId);
      return noContent();
    }),

    operation("get", "/v1/workspaces/{workspaceId}/runs", "listRuns", (r) =>
      ok(s.runs.list(r.path.workspaceId, r.query)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/runs", "startRun", (r) =>
      created(s.runs.start(r.path.workspaceId, r.body, r.userId)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/runs/{runId}", "getRun", (r) =>
      ok(s.runs.get(r.path.workspaceId, r.path.runId)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/runs/{runId}/cancel", "cancelRun", (r) =>
      ok(s.runs.cancel(r.path.workspaceId, r.path.runId, r.userId)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/runs/{runId}/interventions", "submitRunIntervention", (r) =>
      ok(s.runs.intervene(r.path.workspaceId, r.path.runId, r.body, r.userId)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/runs/{runId}/evidence", "listRunEvidence", (r) =>
      ok(s.runs.evidence(r.path.workspaceId, r.path.runId, r.query)),
    ),

    operation("get", "/v1/workspaces/{workspaceId}/approvals", "listApprovals", (r) =>
      ok(s.approvals.list(r.path.workspaceId, r.query)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/approvals", "createApproval", (r) =>
      created(s.approvals.create(r.path.workspaceId, r.body, r.userId)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/approvals/{approvalId}", "getApproval", (r) =>
      ok(s.approvals.get(r.path.workspaceId, r.path.approvalId)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/approvals/{approvalId}/decide", "decideApproval", (r) =>
      ok(s.approvals.decide(r.path.workspaceId, r.path.approvalId, r.body, r.userId)),
    ),
    operation(
      "post",
      "/v1/workspaces/{workspaceId}/agent-actions/{approvalId}/execute",
      "executeApprovedAgentAction",
      (r) => ok(s.agentActions.execute(r.path.workspaceId, r.path.approvalId, r.body, r.userId)),
    ),

    operation("get", "/v1/workspaces/{workspaceId}/evidence", "listEvidenceEntries", (r) => {
      const { limit, cursor, ...filter } = r.query;
      return ok(
        s.evidence.list(r.path.workspaceId, filter, {
          ...(limit !== undefined ? { limit } : {}),
          ...(cursor !== undefined ? { cursor } : {}),
        }),
      );
    }),

    operation("get", "/v1/workspaces/{workspaceId}/machines", "listMachines", (r) =>
      ok(s.machines.list(r.path.workspaceId, r.query)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/machines", "registerMachine", (r) =>
      created(s.machines.register(r.path.workspaceId, r.body, r.userId)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/machines/{machineId}", "getMachine", (r) =>
      ok(s.machines.get(r.path.workspaceId, r.path.machineId)),
    ),
    operation("delete", "/v1/workspaces/{workspaceId}/machines/{machineId}", "deregisterMachine", (r) => {
      s.machines.deregister(r.path.workspaceId, r.path.machineId, r.userId);
      return noContent();
    }),
    operation("post", "/v1/workspaces/{workspaceId}/machines/{machineId}/test", "testMachineConnection", (r) =>
      ok(s.machines.test(r.path.workspaceId, r.path.machineId, r.userId)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/machines/{machineId}/invocations", "createMachineInvocation", (r) =>
      accepted(s.machineInvocations.invoke(r.path.workspaceId, r.path.machineId, r.body, r.origin)),
    ),
    operation(
      "get",
      "/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}",
      "getMachineInvocation",
      (r) => ok(s.machineInvocations.get(r.path.workspaceId, r.path.machineId, r.path.invocationId)),
    ),
    operation(
      "get",
      "/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}/stream",
      "streamMachineInvocation",
      (r) => ({
        subscribe: (afterId, sink) =>
          s.machineInvocations.subscribe(r.path.workspaceId, r.path.machineId, r.path.invocationId, afterId, sink),
      }),
    ),

    operation("get", "/v1/workspaces/{workspaceId}/agents", "listAgents", (r) =>
      ok(s.agents.list(r.path.workspaceId, r.query)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/agents", "registerAgent", (r) =>
      created(s.agents.register(r.path.workspaceId, r.body, r.userId)),
    ),
    operation("get", "/v1/workspaces/{workspaceId}/agents/{agentId}", "getAgent", (r) =>
      ok(s.agents.get(r.path.workspaceId, r.path.agentId)),
    ),
    operation("patch", "/v1/workspaces/{workspaceId}/agents/{agentId}", "updateAgent", (r) =>
      ok(s.agents.update(r.path.workspaceId, r.path.agentId, r.body, r.userId)),
    ),
    operation("post", "/v1/workspaces/{workspaceId}/agents/{agentId}/test", "testAgentConnection", async (r) =>
      ok(await s.agents.test(r.path.workspaceId, r.path.agentId, r.userId)),
    ),
  ];
}
