// Tokens and Idempotency-Keys live for a while on the server's clock: the test moves a
// manual clock past their lifetimes instead of sleeping through them.
import { ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let clock: ManualClock;
let t: PortariumHarness;
beforeAll(async () => {
  clock = new ManualClock();
  t = await startPortarium({
    clock,
    settings: { "portarium.tokenTtlSeconds": "60", "portarium.idempotencyTtlMs": "30000" },
  });
});
afterAll(() => t.close());

describe("token lifetime", () => {
  it("an issued token works until expiresIn has passed, then is 401 token expired", async () => {
    const issued = await t.call<Schemas["IssueTokenResponse"]>("POST", "/v1/auth/token", {
      clientId: "demo",
      clientSecret: "s3cret",
      workspaceId: "ws-a",
    });
    expect(issued.body).toMatchObject({ expiresIn: 60, tokenType: "Bearer" });
    expect(issued.headers.get("cache-control")).toBe("no-store");
    const auth = { authorization: `Bearer ${issued.body.accessToken}` };
    const claims = JSON.parse(Buffer.from(issued.body.accessToken.split(".")[1] ?? "", "base64url").toString());
    expect(claims).toMatchObject({ iat: clock.now() / 1000, exp: clock.now() / 1000 + 60, workspace: "ws-a" });
    clock.advance(59_999);
    expect((await t.call("GET", "/v1/workspaces/ws-a/runs", undefined, auth)).status).toBe(200);
    clock.advance(1);
    const expired = await t.call("GET", "/v1/workspaces/ws-a/runs", undefined, auth);
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(expired.body).toMatchObject({ detail: "invalid token: token expired" });
  });
});

describe("Idempotency-Key lifetime", () => {
  const cancel = (runId: string, key: string) =>
    t.call<Schemas["RunV1"]>("POST", `/v1/workspaces/ws-a/runs/${runId}/cancel`, undefined, { "idempotency-key": key });

  it("replays within the lifetime, refuses another request with the key, and takes it as new once expired", async () => {
    const wf = await t.call<Schemas["WorkflowV1"]>("POST", "/v1/workspaces/ws-a/workflows", {
      name: "w",
      executionTier: "HumanApprove",
      actions: [{ actionId: "a", order: 1, portFamily: "FinanceAccounting", operation: "x" }],
    });
    const start = () =>
      t.call<Schemas["RunV1"]>("POST", "/v1/workspaces/ws-a/runs", { workflowId: wf.body.workflowId });
    const a = (await start()).body;
    const b = (await start()).body;

    const first = await cancel(a.runId, "k");
    expect(first.status).toBe(200);
    clock.advance(29_999);
    const replay = await cancel(a.runId, "k");
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const reused = await cancel(b.runId, "k");
    expect(reused.status).toBe(422);
    expect((await t.call<Schemas["RunV1"]>("GET", `/v1/workspaces/ws-a/runs/${b.runId}`)).body.status).toBe("Running");

    clock.advance(1);
    const fresh = await cancel(b.runId, "k");
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("idempotent-replayed")).toBeNull();
    expect(fresh.body).toMatchObject({ runId: b.runId, status: "Cancelled" });
  });
});
