// Every request goes through the operation table: each operation of the document is
// served at its path and method; anything else is a problem+json 404, 405 or 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, startPortarium } from "./portarium-support.js";

let t: PortariumHarness;
beforeAll(async () => {
  t = await startPortarium();
});
afterAll(() => t.close());

describe("routing", () => {
  it("an unknown path is 404, a known one with another method 405 with Allow, both problem+json", async () => {
    const missing = await t.call("GET", "/v1/workspaces/ws-a/nothing");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    expect(missing.body).toMatchObject({
      status: 404,
      title: "Not Found",
      detail: "route GET /v1/workspaces/ws-a/nothing not found",
    });
    const wrong = await t.call("PUT", "/v1/workspaces/ws-a/workflows/wf-1");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, DELETE, PATCH");
    expect(wrong.headers.get("content-type")).toBe("application/problem+json");
    expect(wrong.body).toMatchObject({ status: 405, title: "Method Not Allowed" });
    // Routing comes before authentication: a wrong method needs no token to be told so.
    expect((await t.call("DELETE", "/v1/auth/token", undefined, { authorization: "" })).status).toBe(405);
  });

  it("a path segment that is not valid percent-encoding is a 400", async () => {
    const bad = await t.call("GET", "/v1/workspaces/%E0%A4%A/runs");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ status: 400, errors: { "path.workspaceId": ["is not valid percent-encoding"] } });
  });

  it("serves every operation of the document at its method and path", async () => {
    const ids = {
      workspaceId: "ws-a",
      runId: "r",
      approvalId: "a",
      machineId: "m",
      invocationId: "i",
      agentId: "g",
      workflowId: "w",
    };
    for (const op of t.module.router.operations) {
      const path = op.template.replace(/\{(\w+)\}/g, (_, name: keyof typeof ids) => ids[name]);
      const res = await t.call(op.method, path, op.bodyPointer ? {} : undefined);
      // Whatever the operation makes of an empty body and made-up ids, it is that operation
      // answering: a validation error, a missing resource, or success, never a routing error.
      const what = `${op.operationId}: ${res.status} ${JSON.stringify(res.body)}`;
      expect(res.status, what).not.toBe(405);
      expect(String(res.body?.detail ?? ""), what).not.toMatch(/^route /);
      expect(res.status, what).toBeLessThan(500);
    }
  });
});
