// baton-server's request log, read from the bin's stderr: one line per gRPC/Connect call
// (streams when they end) and per Portarium REST request, at --log-level, as text or JSON.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { Connection } from "@baton/core";
import { grpcHealth } from "@baton/wire/baaaht";
import { v1 } from "@baton/wire/grpc-reflection";
import { Orchestrator } from "@baton/wire/orca";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";

const bin = `${import.meta.dirname}/../dist/bin.js`;

interface Child {
  child: ChildProcessWithoutNullStreams;
  address: string;
  stderr: () => string;
}
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGTERM");
});

function start(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
  children.push(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed: ${out} ${err}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, address: m[1] as string, stderr: () => err });
      }
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

/** Waits (bounded) until the child's stderr has `n` request lines, and answers them parsed. */
async function requestLines(c: Child, n: number): Promise<Record<string, unknown>[]> {
  const parse = () =>
    c
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "request");
  for (let i = 0; i < 200 && parse().length < n; i++) await new Promise((r) => setTimeout(r, 25));
  return parse();
}

describe("request log", () => {
  it("--log-format json (from the environment): a line per call with method, code, ms and request id", async () => {
    const c = await start(["--token", "tk"], { BATON_LISTEN: "127.0.0.1:0", BATON_LOG_FORMAT: "json" });
    const authed = new Connection({ address: c.address, token: "tk" });
    const anonymous = new Connection({ address: c.address });
    try {
      const orca = createClient(Orchestrator, authed.transport);
      await orca.startRun({ workflowId: "log" }, { headers: { "x-request-id": "req-ok" } });
      await expect(
        createClient(Orchestrator, anonymous.transport).startRun(
          { workflowId: "x" },
          { headers: { "x-request-id": "req-401" } },
        ),
      ).rejects.toSatisfy((e) => e instanceof ConnectError && e.code === Code.Unauthenticated);
      // A server stream that never ends by itself, cancelled by the caller after its first message.
      const ac = new AbortController();
      const health = createClient(grpcHealth.Health, anonymous.transport);
      await expect(
        (async () => {
          for await (const _ of health.watch(
            { service: "" },
            { signal: ac.signal, headers: { "x-request-id": "req-watch" } },
          ))
            ac.abort();
        })(),
      ).rejects.toSatisfy((e) => e instanceof ConnectError && e.code === Code.Canceled);
      // A bidi stream that ends when the caller is done: logged OK at its end.
      const reflection = createClient(v1.ServerReflection, anonymous.transport);
      async function* one() {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
      }
      let answers = 0;
      for await (const _ of reflection.serverReflectionInfo(one(), { headers: { "x-request-id": "req-bidi" } }))
        answers++;
      expect(answers).toBe(1);
      // The Connect protocol over HTTP/1.1, and REST.
      const connect = await fetch(`http://${c.address}/orca.v1.Orchestrator/FetchResult`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer tk", "x-request-id": "req-connect" },
        body: JSON.stringify({}),
      });
      expect(connect.status).toBe(400);
      // No id sent: the log's id is the one the handler echoes (Stratavore's x-request-id).
      const sv = await fetch(`http://${c.address}/stratavore.v1.RunnerService/GetRunner`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer tk" },
        body: JSON.stringify({ runnerId: "run-nope" }),
      });
      expect(sv.status).toBe(404);
      const svId = sv.headers.get("x-request-id");
      expect(svId).toMatch(/^[0-9a-f-]{36}$/);
      const rest = await fetch(`http://${c.address}/v1/workspaces/ws-1/runs`, {
        headers: { "x-request-id": "req-rest" },
      });
      expect(rest.status).toBe(401);
      expect(rest.headers.get("x-request-id")).toBe("req-rest");
      const nowhere = await fetch(`http://${c.address}/v1/nowhere`);
      expect(nowhere.status).toBe(404);

      const lines = await requestLines(c, 8);
      const byId = (id: string) => lines.find((l) => l.requestId === id);
      for (const l of lines) {
        expect(l).toMatchObject({ level: "info", msg: "request", time: expect.any(String) });
        expect(l.ms).toEqual(expect.any(Number));
        expect(l.ms as number).toBeGreaterThanOrEqual(0);
      }
      expect(byId("req-ok")).toMatchObject({ protocol: "grpc", method: "orca.v1.Orchestrator/StartRun", code: "OK" });
      expect(byId("req-401")).toMatchObject({ method: "orca.v1.Orchestrator/StartRun", code: "UNAUTHENTICATED" });
      expect(byId("req-watch")).toMatchObject({ method: "grpc.health.v1.Health/Watch", code: "CANCELED" });
      expect(byId("req-bidi")).toMatchObject({
        method: "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        code: "OK",
      });
      expect(byId("req-connect")).toMatchObject({
        protocol: "connect",
        method: "orca.v1.Orchestrator/FetchResult",
        code: "INVALID_ARGUMENT",
      });
      expect(byId(svId as string)).toMatchObject({
        method: "stratavore.v1.RunnerService/GetRunner",
        code: "NOT_FOUND",
      });
      expect(byId("req-rest")).toMatchObject({ protocol: "rest", method: "listRuns", status: 401 });
      // A request without an id gets one; a path no operation has is logged by method and path.
      expect(lines.find((l) => l.method === "GET /v1/nowhere")).toMatchObject({
        status: 404,
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
    } finally {
      authed.close();
      anonymous.close();
    }
  });

  it("--log-level warn logs no requests; the default text format writes `info request {...}`", async () => {
    const quiet = await start(["--listen", "127.0.0.1:0", "--log-level", "warn", "--log-format", "json"]);
    const loud = await start(["--listen", "127.0.0.1:0"]);
    for (const c of [quiet, loud]) {
      const r = await fetch(`http://${c.address}/v1/workspaces/ws-1/runs`, { headers: { "x-request-id": "lvl" } });
      expect(r.status).toBe(401);
    }
    // The loud one's line shows the request was logged by then; the quiet one had its chance too.
    for (let i = 0; i < 200 && !loud.stderr().includes('"requestId":"lvl"'); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(loud.stderr()).toMatch(
      /^info request \{"protocol":"rest","method":"listRuns","status":401,"ms":[\d.]+,"requestId":"lvl"\}$/m,
    );
    // Stop the quiet one and read all it wrote.
    const exited = new Promise((r) => quiet.child.once("exit", r));
    quiet.child.kill("SIGTERM");
    await exited;
    expect(quiet.stderr()).not.toContain("request");
  });
});
