// A client written only from the contract (paths, bodies, headers; no @baton/portarium)
// works against baton-server, configured the way users configure it: flags or a config file.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BatonServer, createPortariumModule, parseCli, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

describe("a contract-only client against baton-server", () => {
  let server: BatonServer;
  let base: string;
  beforeAll(async () => {
    const config = join(tmpdir(), `portarium-${process.pid}.json`);
    writeFileSync(config, JSON.stringify({ serviceAccounts: ["svc-file:file-secret:ws-acme"], jwtSecret: "cfg" }));
    const options = parseCli(["--listen", "127.0.0.1:0", "--config", config, "--service-account", "svc:pw:ws-acme"]);
    server = await startServer({ ...options, modules: [createPortariumModule] });
    base = `http://${server.addresses[0]}`;
  });
  afterAll(() => server.close());

  const json = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { accept: "application/json", ...(body ? { "content-type": "application/json" } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  it("authenticates, creates a workflow, starts, gets, pages and cancels runs", async () => {
    // Flags win over the config file's service accounts.
    expect(
      (
        await json("POST", "/v1/auth/token", {
          clientId: "svc-file",
          clientSecret: "file-secret",
          workspaceId: "ws-acme",
        })
      ).status,
    ).toBe(401);
    const tok = await json("POST", "/v1/auth/token", { clientId: "svc", clientSecret: "pw", workspaceId: "ws-acme" });
    expect(tok.status).toBe(200);
    expect(tok.body).toMatchObject({ tokenType: "Bearer", workspaceId: "ws-acme", expiresIn: 3600 });
    const auth = { authorization: `Bearer ${tok.body.accessToken}` };
    const wf = await json(
      "POST",
      "/v1/workspaces/ws-acme/workflows",
      {
        name: "invoice approval",
        executionTier: "HumanApprove",
        actions: [{ actionId: "a", order: 1, portFamily: "FinanceAccounting", operation: "approve" }],
      },
      auth,
    );
    expect(wf.status).toBe(201);
    const run = await json(
      "POST",
      "/v1/workspaces/ws-acme/runs",
      { workflowId: wf.body.workflowId, parameters: { invoice_id: "inv-123", amount: 5000 } },
      auth,
    );
    expect(run.status).toBe(201);
    expect(run.headers.get("x-request-id")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await json("GET", `/v1/workspaces/ws-acme/runs/${run.body.runId}`, undefined, auth)).body).toEqual(
      run.body,
    );
    await json("POST", "/v1/workspaces/ws-acme/runs", { workflowId: wf.body.workflowId }, auth);
    const p1 = await json("GET", "/v1/workspaces/ws-acme/runs?limit=1", undefined, auth);
    expect(p1.body.items).toHaveLength(1);
    const p2 = await json(
      "GET",
      `/v1/workspaces/ws-acme/runs?limit=1&cursor=${encodeURIComponent(p1.body.nextCursor)}`,
      undefined,
      auth,
    );
    expect(p2.body.items).toHaveLength(1);
    expect(p2.body.nextCursor).toBeUndefined();
    const cancel = await json("POST", `/v1/workspaces/ws-acme/runs/${run.body.runId}/cancel`, undefined, auth);
    expect(cancel.body.status).toBe("Cancelled");
    const again = await json("POST", `/v1/workspaces/ws-acme/runs/${run.body.runId}/cancel`, undefined, auth);
    expect(again.status).toBe(409);
    expect(again.headers.get("content-type")).toBe("application/problem+json");
    expect(again.body).toMatchObject({ status: 409, title: "Conflict" });
  });
});
