// The resources' JSON calls skip openapi-fetch's web Request/Response (they go over the
// connection's exchange) unless a custom fetch or middleware needs web objects. Both paths
// must send the same bytes and answer the same way: checked here against real servers.

import { PortariumClient, type PortariumClientOptions, UnauthenticatedError } from "@baton/portarium";
import type { Middleware } from "openapi-fetch";
import { afterEach, describe, expect, it } from "vitest";
import { errOf, json, runBody, type Seen, startHttp, type TestHttpServer } from "./support.js";

const FAST = { initialBackoffMs: 1, maxBackoffMs: 5 };

describe("JSON calls with and without openapi-fetch's web objects", () => {
  let srv: TestHttpServer | undefined;
  const clients: PortariumClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await srv?.close();
  });
  const client = (options: PortariumClientOptions) => {
    const c = new PortariumClient({ workspaceId: "ws-a", retry: FAST, token: "tok", ...options });
    clients.push(c);
    return c;
  };

  /** What a request sent, without what differs per call (the correlation id) or per connection. */
  const sent = (s: Seen) => {
    const { "x-correlation-id": id, "x-request-id": rid, host, connection, ...headers } = s.headers;
    expect(rid).toBe(id);
    return { method: s.method, url: s.url, headers, body: s.body };
  };

  it("sends the same method, URL, query, headers and body either way, and reads the same answers", async () => {
    srv = await startHttp((req, res) => {
      if (req.method === "DELETE") return void res.writeHead(204).end();
      if (req.path.endsWith("/runs") && req.method === "GET") return json(res, 200, { items: [runBody("r-2")] });
      json(res, 200, runBody("r-1"));
    });
    const calls = async (p: PortariumClient) => {
      const got = [
        await p.runs.get("r/1 ?", { headers: { "X-Trace": "t-1", "x-tenant": "call-wins" } }),
        await p.runs.list({ limit: 5, cursor: "c=1&x" }),
        await p.runs.start({ workflowId: "wf-1", parameters: { amount: 5 } }, { idempotencyKey: "k-1" }),
        await p.workflows.archive("wf-1"),
        await p.workflows.update("wf-1", { name: "renamed" }),
      ];
      return got;
    };
    const options = { address: srv.address, headers: { "x-tenant": "acme", "x-client": "bench" } };
    const lean = await calls(client(options));
    const leanSent = srv.seen.splice(0).map(sent);
    const web = await calls(client({ ...options, fetch: (r) => fetch(r) }));
    const webSent = srv.seen.splice(0).map(sent);
    expect(lean).toEqual(web);
    expect(lean[0]).toEqual(runBody("r-1"));
    expect(lean[3]).toBeUndefined();
    for (const s of [leanSent, webSent]) {
      expect(s.map((x) => `${x.method} ${x.url}`)).toEqual([
        "GET /v1/workspaces/ws-a/runs/r%2F1%20%3F",
        "GET /v1/workspaces/ws-a/runs?limit=5&cursor=c%3D1%26x",
        "POST /v1/workspaces/ws-a/runs",
        "DELETE /v1/workspaces/ws-a/workflows/wf-1",
        "PATCH /v1/workspaces/ws-a/workflows/wf-1",
      ]);
      expect(s[0]?.headers).toMatchObject({ "x-trace": "t-1", "x-tenant": "call-wins", "x-client": "bench" });
      expect(s[0]?.headers["content-type"]).toBeUndefined();
      expect(s[2]?.headers).toMatchObject({ "content-type": "application/json", "idempotency-key": "k-1" });
      expect(JSON.parse(s[2]?.body ?? "")).toEqual({ workflowId: "wf-1", parameters: { amount: 5 } });
      expect(JSON.parse(s[4]?.body ?? "")).toEqual({ name: "renamed" });
    }
    // The only differences are what each HTTP stack adds by itself (user-agent, accept, ...).
    const common = (x: ReturnType<typeof sent>) => ({
      ...x,
      headers: Object.fromEntries(
        Object.entries(x.headers).filter(
          ([k]) => k.startsWith("x-") || k === "authorization" || k === "idempotency-key" || k === "content-type",
        ),
      ),
    });
    expect(leanSent.map(common)).toEqual(webSent.map(common));
  });

  it("middleware, from the options or raw.use(), sees every call; once ejected, calls skip it", async () => {
    srv = await startHttp((_req, res) => json(res, 200, runBody("r-1")));
    const seenBy: string[] = [];
    const mark = (name: string): Middleware => ({
      onRequest({ request }) {
        request.headers.set("x-mark", name);
        seenBy.push(`${name} ${new URL(request.url).pathname}`);
      },
    });
    const fromOptions = client({ address: srv.address, middleware: [mark("options")] });
    await fromOptions.runs.get("r-1");
    const p = client({ address: srv.address });
    await p.runs.get("r-2");
    const later = mark("use");
    p.raw.use(later);
    await p.runs.get("r-3");
    p.raw.eject(later);
    await p.runs.get("r-4");
    expect(seenBy).toEqual(["options /v1/workspaces/ws-a/runs/r-1", "use /v1/workspaces/ws-a/runs/r-3"]);
    expect(srv.seen.map((s) => s.headers["x-mark"])).toEqual(["options", undefined, "use", undefined]);
  });

  it("a 401 asks the token provider again with forceRefresh and resends once; a second 401 is the error", async () => {
    srv = await startHttp((req, res) =>
      req.headers.authorization === "Bearer fresh"
        ? json(res, 200, runBody("r-1"))
        : json(res, 401, { type: "about:blank", title: "Unauthorized", status: 401, detail: "token revoked" }),
    );
    const asked: boolean[] = [];
    const p = client({
      address: srv.address,
      token: ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? "fresh" : "stale";
      },
    });
    expect(await p.runs.get("r-1")).toEqual(runBody("r-1"));
    expect(asked).toEqual([false, true]);
    expect(srv.seen.map((s) => s.headers.authorization)).toEqual(["Bearer stale", "Bearer fresh"]);
    const stuck = client({ address: srv.address, token: () => "stale" });
    const err = await errOf(stuck.runs.get("r-1"));
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect(err).toMatchObject({ status: 401, detail: "token revoked" });
    // A fixed token cannot be refreshed: a provider can, so it is asked once more.
    expect(srv.seen.slice(2)).toHaveLength(2);
  });
});
