import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../clock.js";
import { ConnectionTestPolicy } from "./connection-probe.js";
import { OpenApiSchema } from "./openapi.js";
import { ok, operation } from "./operation.js";
import { portariumOperations } from "./operations.js";
import { PortariumService } from "./portarium-service.js";
import { PortariumRouter } from "./router.js";
import { MemoryPortariumStore } from "./store.js";
import { TokenIssuer } from "./tokens.js";

const clock = new ManualClock();
const service = new PortariumService(new MemoryPortariumStore(), {
  clock,
  invocationDurationMs: 0,
  machineHeartbeatTimeoutMs: 1000,
  connectionTestPolicy: ConnectionTestPolicy.parse("public"),
});
afterAll(() => service.close());
const tokens = new TokenIssuer({ accounts: [], secret: "s", ttlSeconds: 60, clock });
const schema = new OpenApiSchema();
const table = portariumOperations(service, tokens);
const router = new PortariumRouter(schema, table);

describe("the operation table", () => {
  it("has exactly one entry per operation of the document, under the document's method, path and id", () => {
    expect(table).toHaveLength(schema.operations.length);
    const entries = table.map((e) => `${e.method} ${e.path} ${e.operationId}`).sort();
    expect(entries).toEqual(schema.operations.map((o) => `${o.method} ${o.template} ${o.operationId}`).sort());
    expect(router.operations.map((o) => o.operationId)).toEqual(schema.operations.map((o) => o.operationId));
  });

  it("a router refuses a table that misses, adds, renames or repeats an operation", () => {
    const extra = operation("get", "/v1/workspaces", "listWorkspaces", () => ok({ items: [] }));
    expect(() => new PortariumRouter(schema, table.slice(1))).toThrow(
      /POST \/v1\/auth\/token \(issueToken\) has no entry/,
    );
    expect(() => new PortariumRouter(schema, [...table, extra])).toThrow("GET /v1/workspaces is in the table twice");
    const renamed = table.map((e) => (e.operationId === "getRun" ? { ...e, operationId: "getWorkflow" as const } : e));
    expect(() => new PortariumRouter(schema, renamed)).toThrow(
      "GET /v1/workspaces/{workspaceId}/runs/{runId} is getRun in the document, getWorkflow in the table",
    );
    const moved = table.map((e) => (e.operationId === "cancelRun" ? { ...e, path: "/v1/runs/{runId}/cancel" } : e));
    expect(() => new PortariumRouter(schema, moved)).toThrow(
      /POST \/v1\/runs\/\{runId\}\/cancel \(cancelRun\) is not an operation of the document/,
    );
  });
});

describe("PortariumRouter.match", () => {
  it("finds the operation and percent-decodes its path parameters", () => {
    const m = router.match("GET", "/v1/workspaces/ws%20a/machines/m%2F1/invocations/inv-1/stream");
    expect(m).toMatchObject({
      kind: "operation",
      op: { operationId: "streamMachineInvocation" },
      pathParams: { workspaceId: "ws a", machineId: "m/1", invocationId: "inv-1" },
    });
    expect(router.match("post", "/v1/auth/token")).toMatchObject({
      kind: "operation",
      op: { operationId: "issueToken" },
    });
  });

  it("answers method-not-allowed with the path's methods in document order", () => {
    expect(router.match("PUT", "/v1/workspaces/ws/workflows/wf-1")).toEqual({
      kind: "method-not-allowed",
      allowed: ["GET", "DELETE", "PATCH"],
    });
    expect(router.match("DELETE", "/v1/workspaces/ws/runs")).toEqual({
      kind: "method-not-allowed",
      allowed: ["GET", "POST"],
    });
  });

  it("matches no template for unknown paths, empty segments or extra segments", () => {
    for (const path of [
      "/v1/nothing",
      "/v1/workspaces/",
      "/v1/workspaces//runs",
      "/v1/workspaces/ws/runs/r/extra/x",
      "/",
    ]) {
      expect(router.match("GET", path), path).toEqual({ kind: "none" });
    }
  });

  it("calls a path segment that is not valid percent-encoding malformed", () => {
    expect(router.match("GET", "/v1/workspaces/%E0%A4%A")).toEqual({
      kind: "malformed",
      param: "workspaceId",
      detail: "path segment workspaceId is not valid percent-encoding: %E0%A4%A",
    });
  });
});
