// Hostile and careless REST input (issue #13 items 3 and 11): malformed percent-encoding in
// paths and queries, forged and out-of-range cursors, out-of-range limits. Each is a 400
// problem+json naming the parameter, never a 500, with or without a token.
import { request } from "node:http";
import { MAX_JSON_DEPTH } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let t: PortariumHarness;
beforeAll(async () => {
  t = await startPortarium();
});
afterAll(() => t.close());

/** A raw GET, so the path goes out byte for byte as written (fetch would normalise it). */
function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: Schemas["ProblemDetails"] }> {
  const { hostname, port } = new URL(t.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET", headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body: JSON.parse(text) }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("malformed percent-encoding (#13.3)", () => {
  it("in a path segment is a 400 problem+json naming the parameter, with or without a token", async () => {
    const token = await t.token();
    for (const headers of [{}, { authorization: `Bearer ${token}` }, { authorization: "Bearer nonsense" }]) {
      for (const [path, param] of [
        ["/v1/workspaces/%E0%A4%A/runs", "path.workspaceId"],
        ["/v1/workspaces/%/machines", "path.workspaceId"],
        ["/v1/workspaces/ws-a/runs/%E0%A4%A", "path.runId"],
        ["/v1/workspaces/ws-a/agents/%C3%28", "path.agentId"],
      ] as const) {
        const r = await rawGet(path, headers);
        expect(r.status, path).toBe(400);
        expect(r.type).toBe("application/problem+json");
        expect(r.body.errors, path).toEqual({ [param]: ["is not valid percent-encoding"] });
      }
    }
  });

  it("in a query parameter is a 400 naming it, instead of a value with U+FFFD in it", async () => {
    const auth = { authorization: `Bearer ${await t.token()}` };
    const r = await rawGet("/v1/workspaces/ws-a/evidence?runId=%E0%A4%A&limit=5", auth);
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ "query.runId": ["is not valid percent-encoding"] });
    const name = await rawGet("/v1/workspaces/ws-a/runs?%ZZ=1", auth);
    expect(name.status).toBe(400);
    expect(Object.keys(name.body.errors ?? {})).toEqual(["query.%ZZ"]);
    // Valid encodings still decode: a run id with a slash in it is just not found.
    expect((await rawGet("/v1/workspaces/ws-a/evidence?runId=a%2Fb%20c", auth)).status).toBe(200);
  });
});

describe("cursors and page sizes (#13.11)", () => {
  it("a negative, fractional or forged cursor is a 400 naming query.cursor", async () => {
    for (const s of [-1, -100, 1.5, 2 ** 60]) {
      const r = await t.call<Schemas["ProblemDetails"]>(
        "GET",
        `/v1/workspaces/ws-a/runs?cursor=${cursorOf({ l: "runs", s })}`,
      );
      expect(r.status, String(s)).toBe(400);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(r.body.errors).toEqual({ "query.cursor": ["is not a cursor this list returned"] });
      expect(r.body.detail).toContain("cursor");
    }
    for (const cursor of ["-1", "0", "%00", cursorOf({ l: "approvals", s: 1 }), cursorOf([1, 2])]) {
      const r = await t.call<Schemas["ProblemDetails"]>("GET", `/v1/workspaces/ws-a/runs?cursor=${cursor}`);
      expect(r.status, cursor).toBe(400);
      expect(Object.keys(r.body.errors ?? {})).toEqual(["query.cursor"]);
    }
  });

  it("a cursor the list returned still pages", async () => {
    for (let i = 0; i < 3; i++) await t.call("POST", "/v1/workspaces/ws-a/machines", { hostname: `m-${i}` });
    const first = await t.call<Schemas["MachineListResponse"]>("GET", "/v1/workspaces/ws-a/machines?limit=2");
    expect(first.body.items).toHaveLength(2);
    const next = await t.call<Schemas["MachineListResponse"]>(
      "GET",
      `/v1/workspaces/ws-a/machines?limit=2&cursor=${first.body.nextCursor}`,
    );
    expect(next.status).toBe(200);
    expect(next.body.items.map((m) => m.hostname)).not.toContain(first.body.items[0]?.hostname);
  });

  it("a limit out of 1..200, or not an integer, is a 400 naming query.limit", async () => {
    for (const limit of ["-1", "0", "201", "1.5", "1e2", "abc", "", "99999999999999999999"]) {
      const r = await t.call<Schemas["ProblemDetails"]>("GET", `/v1/workspaces/ws-a/approvals?limit=${limit}`);
      expect(r.status, limit).toBe(400);
      expect(Object.keys(r.body.errors ?? {}), limit).toEqual(["query.limit"]);
    }
    expect((await t.call("GET", "/v1/workspaces/ws-a/approvals?limit=200")).status).toBe(200);
  });
});

describe("deeply nested bodies (found by the fuzz test)", () => {
  it("a body nested past MAX_JSON_DEPTH is a 400 problem+json, with an Idempotency-Key too (was 500: stack overflow)", async () => {
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    for (const headers of [{}, { "idempotency-key": "deep-1" }]) {
      const res = await fetch(`${t.baseUrl}/v1/workspaces/ws-a/runs/r-none/cancel`, {
        method: "POST",
        headers: { authorization: `Bearer ${await t.token()}`, "content-type": "application/json", ...headers },
        body: deep(20_000),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as Schemas["ProblemDetails"]).detail).toMatch(`deeper than ${MAX_JSON_DEPTH}`);
    }
  });

  it("a body exactly MAX_JSON_DEPTH deep is read (and judged by the operation)", async () => {
    // The object is one level, its array the other MAX_JSON_DEPTH - 1.
    const nested = JSON.parse(`${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}`);
    const ok = await t.call("POST", "/v1/workspaces/ws-a/workflows", { name: "w", steps: nested });
    expect(ok.status).toBe(400);
    expect(JSON.stringify(ok.body)).not.toMatch("deeper than");
  });
});

describe("paths that begin with // (found by the fuzz test)", () => {
  it("are paths, not hosts: a 404 problem+json, never a 500 or another route", async () => {
    for (const path of ["//%00", "//%2F..%2F", "//v1/workspaces", "//localhost/v1/workspaces"]) {
      const res = await rawGet(path, { authorization: `Bearer ${await t.token()}` });
      expect(res.status, path).toBe(404);
      expect(res.type, path).toMatch(/^application\/problem\+json/);
    }
  });
});
