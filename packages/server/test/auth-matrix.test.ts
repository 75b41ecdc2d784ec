// Auth matrix (#8.5): with `--token`, every method of every service baton-server serves
// (health and reflection excepted, as documented) refuses no token, a wrong token and every
// malformed authorization header with UNAUTHENTICATED, over gRPC, gRPC-Web and Connect on
// HTTP/1.1 and HTTP/2, and the right token gets past authentication. Every secured
// Portarium REST operation refuses the same with 401 problem+json (its own JWTs; the
// server's `--token` is not one), and every workspace-scoped operation refuses a token of
// another workspace with 403 problem+json, writing nothing; objects of one workspace are
// 404 through another's token.
import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restOperations } from "./fuzz-rest.js";
import {
  COMBOS,
  envelope,
  type FuzzRequest,
  type FuzzResponse,
  type FuzzTarget,
  type Protocol,
  pool,
  rpcOutcome,
  servedServices,
  startFuzzTarget,
  type Transport,
  wireServices,
} from "./fuzz-support.js";

const TOKEN = "matrix-s3cret";
const BOUND_MS = 15_000;
/** Services open without the token (README: health checks and server reflection). */
const OPEN = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

/** Authorization headers that must not pass (undefined: none at all). */
const BAD_RPC_AUTH: (string | undefined)[] = [
  undefined,
  "Bearer wrong-token",
  "Basic x",
  "Bearer",
  "Bearer ",
  `Basic ${Buffer.from(`user:${TOKEN}`).toString("base64")}`,
  "bearer  wrong",
  `Token ${TOKEN}`,
  TOKEN,
  `Bearer ${TOKEN}x`,
  `Bearer ${TOKEN.slice(0, -1)}`,
  `Bearer ${TOKEN} extra`,
  `Bearer "${TOKEN}"`,
  "",
];

/** What the bearer check answers (README: `missing bearer token`, `invalid bearer token`). */
const BEARER_REFUSAL = /bearer token/;

let target: FuzzTarget;

beforeAll(async () => {
  target = await startFuzzTarget({ token: TOKEN }, { boundMs: BOUND_MS, maxSockets: 32 });
});
afterAll(() => target?.close());

function send(transport: Transport, r: FuzzRequest): Promise<FuzzResponse> {
  return target.send(transport, r);
}

/** An empty-message call of `m` in `protocol`, with `auth` as its authorization header. */
function call(
  path: string,
  m: DescMethod,
  protocol: Protocol,
  auth: string | undefined,
  timeoutMs = 2000,
): FuzzRequest {
  const streaming = m.methodKind !== "unary";
  const headers: Record<string, string> =
    protocol === "grpc"
      ? { "content-type": "application/grpc", te: "trailers", "grpc-timeout": `${timeoutMs}m` }
      : protocol === "grpc-web"
        ? { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "grpc-timeout": `${timeoutMs}m` }
        : {
            "content-type": streaming ? "application/connect+proto" : "application/proto",
            "connect-protocol-version": "1",
            "connect-timeout-ms": String(timeoutMs),
          };
  if (auth !== undefined) headers.authorization = auth;
  const body = protocol === "connect" && !streaming ? Buffer.alloc(0) : envelope(new Uint8Array());
  return { method: "POST", path, headers, body };
}

describe("RPC with --token", () => {
  it("every method refuses no token, a wrong one and malformed headers with UNAUTHENTICATED; the right one passes", async () => {
    const wire = wireServices();
    const served = await servedServices(target.session());
    const failures: string[] = [];
    const tasks: (() => Promise<void>)[] = [];
    let methods = 0;
    for (const name of served) {
      const svc = wire.get(name);
      if (!svc) throw new Error(`served service ${name} is not in @baton/wire`);
      if (OPEN.has(name)) continue;
      for (const m of svc.methods) {
        methods++;
        const path = `/${name}/${m.name}`;
        for (const [protocol, transport] of COMBOS) {
          // Bidi streams need HTTP/2: over HTTP/1.1 they are refused UNIMPLEMENTED before anything else.
          if (m.methodKind === "bidi_streaming" && transport === "h1") continue;
          // Every header over gRPC and Connect on one HTTP version each; the other pairs a few.
          const all = (protocol === "grpc" && transport === "h2") || (protocol === "connect" && transport === "h1");
          for (const auth of all ? BAD_RPC_AUTH : BAD_RPC_AUTH.slice(0, 3))
            tasks.push(async () => {
              const o = rpcOutcome(
                protocol,
                m.methodKind !== "unary",
                await send(transport, call(path, m, protocol, auth)),
              );
              // The bearer check's own refusal (edgemesh's session checks say UNAUTHENTICATED too).
              if (o.code !== Code.Unauthenticated || !BEARER_REFUSAL.test(o.message))
                failures.push(
                  `${protocol}/${transport} ${path} with ${JSON.stringify(auth)}: ${o.malformed ?? `${o.code} ${o.message}`}`,
                );
            });
          tasks.push(async () => {
            const o = rpcOutcome(
              protocol,
              m.methodKind !== "unary",
              // Streams that pass stay open: a short deadline ends them.
              await send(transport, call(path, m, protocol, `Bearer ${TOKEN}`, 300)),
            );
            if (o.malformed || (o.code === Code.Unauthenticated && BEARER_REFUSAL.test(o.message)))
              failures.push(`${protocol}/${transport} ${path} with the right token: ${o.malformed ?? o.message}`);
          });
        }
      }
    }
    await pool(tasks, 16);
    expect(methods).toBeGreaterThan(40);
    expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
  }, 180_000);

  it("health checks and reflection answer without the token, as documented", async () => {
    for (const [protocol, transport] of COMBOS) {
      const check = { methodKind: "unary" } as DescMethod;
      const o = rpcOutcome(
        protocol,
        false,
        await send(transport, call("/grpc.health.v1.Health/Check", check, protocol, undefined)),
      );
      expect(o.code, `${protocol}/${transport}`).toBe(0);
    }
    expect(await servedServices(target.session())).toContain("orca.v1.Orchestrator");
  });
});

describe("Portarium REST", () => {
  const ops = restOperations();
  const secured = ops.filter((op) => op.operationId !== "issueToken");
  const scoped = secured.filter((op) => op.pathParams.includes("workspaceId"));

  /** A path for `op` in `workspace`, with ids that need not exist. */
  const pathOf = (template: string, workspace: string, ids: Record<string, string> = {}) =>
    template.replace(/\{(\w+)\}/g, (_, p: string) => (p === "workspaceId" ? workspace : (ids[p] ?? `no-such-${p}`)));

  /** A body every write operation can take for the auth checks (auth comes before validation). */
  const bodyOf = (method: string) => (method === "GET" || method === "DELETE" ? undefined : Buffer.from("{}"));

  it("every secured operation refuses no token, wrong tokens and malformed headers with 401 problem+json", async () => {
    expect(secured.length).toBeGreaterThan(25);
    const valid = await target.portarium.signToken({ sub: "demo", workspace: "ws-a" });
    const [head = "", payload = ""] = valid.split(".");
    const expired = await target.portarium.signToken({ sub: "demo", workspace: "ws-a", exp: 1 });
    const bad: (string | undefined)[] = [
      undefined,
      "Bearer",
      "Bearer ",
      "Basic x",
      `Basic ${Buffer.from("demo:s3cret").toString("base64")}`,
      `bearer  ${valid.slice(0, -2)}`,
      `Bearer ${TOKEN}`, // the server's --token is not a Portarium token
      `Bearer ${head}.${payload}.`, // unsigned
      `Bearer ${head}.${payload}.${"A".repeat(43)}`, // forged signature
      `Bearer ${expired}`,
      `Bearer ${valid} ${valid}`,
      valid,
      "",
    ];
    const failures: string[] = [];
    const tasks: (() => Promise<void>)[] = [];
    for (const op of secured)
      for (const transport of ["h1", "h2"] as const)
        for (const auth of bad)
          tasks.push(async () => {
            const body = bodyOf(op.method);
            const res = await send(transport, {
              method: op.method,
              path: pathOf(op.template, "ws-a"),
              headers: {
                ...(auth !== undefined ? { authorization: auth } : {}),
                ...(body ? { "content-type": "application/json" } : {}),
              },
              ...(body ? { body } : {}),
            });
            const type = String(res.headers["content-type"]);
            const where = `${transport} ${op.operationId} with ${JSON.stringify(auth?.slice(0, 40))}`;
            if (res.status !== 401) failures.push(`${where}: ${res.status} ${res.body.toString().slice(0, 120)}`);
            else if (!type.startsWith("application/problem+json")) failures.push(`${where}: 401 as ${type}`);
            else if (!String(res.headers["www-authenticate"] ?? "").startsWith("Bearer"))
              failures.push(`${where}: no WWW-Authenticate: Bearer`);
          });
    await pool(tasks, 16);
    expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
  }, 180_000);

  it("every workspace-scoped operation refuses another workspace's token with 403 problem+json and writes nothing", async () => {
    expect(scoped.length).toBeGreaterThan(25);
    const tokenB = await target.portarium.signToken({ sub: "demo", workspace: "ws-b" });
    const failures: string[] = [];
    for (const op of scoped)
      for (const transport of ["h1", "h2"] as const) {
        const body = bodyOf(op.method);
        // A body valid enough for each write would pass validation; the refusal must come first.
        const res = await send(transport, {
          method: op.method,
          path: pathOf(op.template, "ws-a"),
          headers: { authorization: `Bearer ${tokenB}`, ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body } : {}),
        });
        const type = String(res.headers["content-type"]);
        if (res.status !== 403 || !type.startsWith("application/problem+json"))
          failures.push(`${transport} ${op.operationId}: ${res.status} ${type} ${res.body.toString().slice(0, 120)}`);
      }
    expect(failures, failures.join("\n")).toEqual([]);
    // Nothing reached ws-a.
    const tokenA = await target.portarium.signToken({ sub: "demo", workspace: "ws-a" });
    for (const list of ["workflows", "runs", "approvals", "machines", "agents", "evidence"]) {
      const res = await send("h1", {
        method: "GET",
        path: `/v1/workspaces/ws-a/${list}`,
        headers: { authorization: `Bearer ${tokenA}` },
      });
      expect(res.status, list).toBe(200);
      expect((JSON.parse(res.body.toString()) as { items: unknown[] }).items, list).toEqual([]);
    }
  });

  it("objects of one workspace are 404 through another workspace's token and path", async () => {
    const tokenA = await target.portarium.signToken({ sub: "demo", workspace: "ws-a" });
    const tokenB = await target.portarium.signToken({ sub: "demo", workspace: "ws-b" });
    const post = async (path: string, body: unknown) => {
      const res = await send("h1", {
        method: "POST",
        path,
        headers: { authorization: `Bearer ${tokenA}`, "content-type": "application/json" },
        body: Buffer.from(JSON.stringify(body)),
      });
      expect(res.status, `${path}: ${res.body.toString()}`).toBeLessThan(300);
      return JSON.parse(res.body.toString()) as Record<string, string>;
    };
    const workflow = await post("/v1/workspaces/ws-a/workflows", {
      name: "matrix",
      executionTier: "HumanApprove",
      actions: [{ actionId: "a", order: 1, portFamily: "PaymentsBilling", operation: "refund.check" }],
    });
    const run = await post("/v1/workspaces/ws-a/runs", { workflowId: workflow.workflowId });
    const approval = await post("/v1/workspaces/ws-a/approvals", {
      runId: run.runId,
      planId: "plan-matrix",
      prompt: "ok?",
    });
    const machine = await post("/v1/workspaces/ws-a/machines", { hostname: "matrix-01" });
    const agentRes = await post("/v1/workspaces/ws-a/agents", { name: "matrix", endpoint: "http://127.0.0.1:1" });
    const ids: Record<string, string> = {
      workflowId: workflow.workflowId ?? "",
      runId: run.runId ?? "",
      approvalId: approval.approvalId ?? "",
      machineId: machine.machineId ?? "",
      agentId: agentRes.agentId ?? "",
    };
    expect(Object.values(ids).every((v) => v !== "")).toBe(true);
    const failures: string[] = [];
    const reachable = scoped.filter(
      (op) => op.pathParams.length > 1 && op.pathParams.filter((p) => p !== "workspaceId").every((p) => p in ids),
    );
    expect(reachable.length).toBeGreaterThan(10);
    for (const op of reachable) {
      const body = bodyOf(op.method);
      const res = await send("h1", {
        method: op.method,
        path: pathOf(op.template, "ws-b", ids),
        headers: { authorization: `Bearer ${tokenB}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body } : {}),
      });
      // 404 for the object; a write whose body is incomplete may be refused 400 first, never 2xx.
      if (res.status < 400 || res.status >= 500 || (op.method === "GET" && res.status !== 404))
        failures.push(`${op.operationId}: ${res.status} ${res.body.toString().slice(0, 120)}`);
    }
    expect(failures, failures.join("\n")).toEqual([]);
  });
});
