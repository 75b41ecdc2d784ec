// Token scopes are enforced per operation (issue #13 item 9): a token scoped `runs:read`
// cannot register a machine; it gets 403 `insufficient_scope` with an RFC 6750 challenge.
import { parseServiceAccounts } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let t: PortariumHarness;
beforeAll(async () => {
  t = await startPortarium({
    settings: { "portarium.serviceAccounts": "demo:s3cret:ws-a,ws-b\nreader:p:w:ws-a runs:read evidence:read" },
  });
});
afterAll(() => t.close());

/** A token from the token endpoint, as a client would get one. */
async function issue(clientId: string, clientSecret: string, scope?: string) {
  return t.call<Schemas["IssueTokenResponse"] & Schemas["ProblemDetails"]>(
    "POST",
    "/v1/auth/token",
    { clientId, clientSecret, workspaceId: "ws-a", ...(scope !== undefined ? { scope } : {}) },
    { authorization: "" },
  );
}

const as = (token: string) => ({ authorization: `Bearer ${token}` });

describe("token scopes", () => {
  it("a runs:read token reads runs but cannot register a machine or start a run", async () => {
    const issued = await issue("demo", "s3cret", "runs:read");
    expect(issued.status).toBe(200);
    expect(issued.body.scope).toBe("runs:read");
    const token = issued.body.accessToken;
    expect((await t.call("GET", "/v1/workspaces/ws-a/runs", undefined, as(token))).status).toBe(200);

    const machine = await t.call<Schemas["ProblemDetails"]>(
      "POST",
      "/v1/workspaces/ws-a/machines",
      { hostname: "build-01" },
      as(token),
    );
    expect(machine.status).toBe(403);
    expect(machine.headers.get("content-type")).toBe("application/problem+json");
    expect(machine.headers.get("www-authenticate")).toBe(
      'Bearer realm="portarium", error="insufficient_scope", scope="machines:write"',
    );
    expect(machine.body.type).toBe("urn:baton:portarium:problem:insufficient-scope");
    expect(machine.body.detail).toContain("insufficient_scope");
    expect(machine.body.detail).toContain("machines:write");
    // Nothing was registered.
    expect((await t.call<Schemas["MachineListResponse"]>("GET", "/v1/workspaces/ws-a/machines")).body.items).toEqual(
      [],
    );

    const run = await t.call("POST", "/v1/workspaces/ws-a/runs", { workflowId: "wf-1" }, as(token));
    expect(run.status).toBe(403);
    expect(run.headers.get("www-authenticate")).toContain('scope="runs:write"');
    expect((await t.call("GET", "/v1/workspaces/ws-a/machines", undefined, as(token))).status).toBe(403);
    expect((await t.call("GET", "/v1/workspaces", undefined, as(token))).status).toBe(403);
  });

  it("write includes read, and several scopes add up", async () => {
    const token = (await issue("demo", "s3cret", "machines:write workspaces:read")).body.accessToken;
    const m = await t.call<Schemas["MachineV1"]>("POST", "/v1/workspaces/ws-a/machines", { hostname: "m" }, as(token));
    expect(m.status).toBe(201);
    expect((await t.call("GET", `/v1/workspaces/ws-a/machines/${m.body.machineId}`, undefined, as(token))).status).toBe(
      200,
    );
    expect(
      (await t.call("POST", `/v1/workspaces/ws-a/machines/${m.body.machineId}/test`, undefined, as(token))).status,
    ).toBe(200);
    expect((await t.call("GET", "/v1/workspaces/ws-a", undefined, as(token))).status).toBe(200);
    expect((await t.call("GET", "/v1/workspaces/ws-a/agents", undefined, as(token))).status).toBe(403);
  });

  it("a token without a scope claim may do everything (the default when none is requested)", async () => {
    const issued = await issue("demo", "s3cret");
    expect(issued.body.scope).toBeUndefined();
    const token = issued.body.accessToken;
    expect(
      (await t.call("POST", "/v1/workspaces/ws-a/agents", { name: "a", endpoint: "http://x.test/" }, as(token))).status,
    ).toBe(201);
  });

  it("an unknown scope, or none, is a 400 invalid_scope at the token endpoint", async () => {
    for (const scope of ["runs:delete", "admin", "runs:read nonsense", "   "]) {
      const r = await issue("demo", "s3cret", scope);
      expect(r.status, scope).toBe(400);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(r.body.type).toBe("urn:baton:portarium:problem:invalid-scope");
      expect(r.body.detail).toContain("invalid_scope");
      expect(Object.keys(r.body.errors ?? {})).toEqual(["/scope"]);
    }
  });

  it("a service account's scopes bound its tokens: the default is all of them, more is a 400", async () => {
    const issued = await issue("reader", "p:w");
    expect(issued.status).toBe(200);
    expect(issued.body.scope).toBe("runs:read evidence:read");
    const token = issued.body.accessToken;
    expect((await t.call("GET", "/v1/workspaces/ws-a/evidence", undefined, as(token))).status).toBe(200);
    expect((await t.call("POST", "/v1/workspaces/ws-a/approvals", {}, as(token))).status).toBe(403);

    expect((await issue("reader", "p:w", "runs:read")).body.scope).toBe("runs:read");
    const more = await issue("reader", "p:w", "runs:read runs:write");
    expect(more.status).toBe(400);
    expect(more.body.detail).toContain("client reader may not have: runs:write");
  });

  it("every secured operation needs a scope: <resource>:read for GET, :write otherwise", () => {
    const scopes = Object.fromEntries(t.module.router.operations.map((op) => [op.operationId, op.scope]));
    expect(scopes).toMatchObject({
      issueToken: undefined,
      listWorkspaces: "workspaces:read",
      getWorkspace: "workspaces:read",
      listRuns: "runs:read",
      startRun: "runs:write",
      listRunEvidence: "runs:read",
      decideApproval: "approvals:write",
      executeApprovedAgentAction: "agent-actions:write",
      listEvidenceEntries: "evidence:read",
      registerMachine: "machines:write",
      testMachineConnection: "machines:write",
      streamMachineInvocation: "machines:read",
      testAgentConnection: "agents:write",
      archiveWorkflow: "workflows:write",
    });
    for (const op of t.module.router.operations) {
      if (op.secured) expect(op.scope, op.operationId).toMatch(op.method === "GET" ? /:read$/ : /:write$/);
    }
  });

  it("service account lines take scopes after the workspaces and refuse unknown ones", () => {
    expect(parseServiceAccounts("a:b:c:ws1,ws2 runs:read  machines:write")).toEqual([
      { clientId: "a", clientSecret: "b:c", workspaces: ["ws1", "ws2"], scopes: ["runs:read", "machines:write"] },
    ]);
    expect(() => parseServiceAccounts("a:b:ws1 runs:admin")).toThrow("runs:admin is not a scope");
  });
});
