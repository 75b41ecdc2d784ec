// The client against what the REAL Portarium control plane (dev stub mode) answers, replayed
// from fixtures/real-server/ by a tiny node:http server (issue #8 item 4): no token endpoint,
// 401 for a workspace mismatch, `sha256:` hashes, and fields the contract does not declare.
import {
  NotFoundError,
  PortariumClient,
  type PortariumTokenProvider,
  type TokenRequest,
  UnauthenticatedError,
} from "@baton/portarium";
import { afterEach, describe, expect, it } from "vitest";
import { type Fixture, loadFixture, replay } from "./replay.js";
import type { TestHttpServer } from "./support.js";

const DEV_TOKEN = "portarium-dev-token";
let server: TestHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The evidence entries of a fixture's first exchange, to tamper with. */
function entriesOf(fixture: Fixture): { summary: string; previousHash?: string }[] {
  const body = fixture.exchanges[0]?.response.body as { items?: { summary: string; previousHash?: string }[] };
  if (!body?.items) throw new Error("the fixture's first exchange has no items");
  return body.items;
}

async function serve(fixture: Fixture | string): Promise<TestHttpServer> {
  server = await replay(typeof fixture === "string" ? loadFixture(fixture) : fixture);
  return server;
}

const client = (address: string, options: ConstructorParameters<typeof PortariumClient>[0] = {}) =>
  new PortariumClient({ address, workspaceId: "ws-local", retry: false, token: DEV_TOKEN, ...options });

describe("against the real control plane", () => {
  it("clientCredentials fail with a clear UnauthenticatedError: the server does not issue tokens", async () => {
    const s = await serve("no-token-endpoint");
    await using portarium = new PortariumClient({
      address: s.address,
      workspaceId: "ws-local",
      retry: false,
      clientCredentials: { clientId: "svc", clientSecret: "pw" },
    });
    for (let i = 0; i < 2; i++) {
      const err = await portarium.runs.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect((err as UnauthenticatedError).message).toContain(`the server at ${s.address} does not issue tokens`);
      expect((err as UnauthenticatedError).message).toContain("POST /v1/auth/token answered 404");
      expect((err as UnauthenticatedError).retryable).toBe(false);
      // Its cause is the server's own 404 problem.
      expect(((err as UnauthenticatedError).cause as NotFoundError).detail).toBe("Route not found.");
    }
    // One token request per call, and the call itself never went out without a token.
    expect(s.seen.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/auth/token", "POST /v1/auth/token"]);
  });

  it("a workspace mismatch answered 401 is refreshed once, then surfaces as UnauthenticatedError", async () => {
    const s = await serve("workspace-mismatch-401");
    const asked: TokenRequest[] = [];
    const provider: PortariumTokenProvider = (r) => {
      asked.push(r);
      return DEV_TOKEN;
    };
    await using portarium = client(s.address, { token: provider });
    expect((await portarium.runs.list()).items).toEqual([]);
    const err = await portarium.runs.list({ workspaceId: "ws-other" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect((err as UnauthenticatedError).status).toBe(401);
    expect((err as UnauthenticatedError).detail).toBe("Token workspace does not match requested workspace.");
    expect(asked).toEqual([
      { workspaceId: "ws-local", forceRefresh: false },
      { workspaceId: "ws-other", forceRefresh: false },
      { workspaceId: "ws-other", forceRefresh: true },
    ]);
    // An event stream is not resumed after a 401 either.
    const stream = portarium.machines.streamInvocation("machine-3", "inv-1", { workspaceId: "ws-other" });
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(UnauthenticatedError);
    const paths = s.seen.map((r) => r.path);
    expect(paths.filter((p) => p === "/v1/workspaces/ws-other/runs")).toHaveLength(2);
    expect(paths.filter((p) => p.endsWith("/inv-1/stream"))).toHaveLength(2);
  });

  it("a fixed token gets the 401 at once: nothing to refresh", async () => {
    const s = await serve("workspace-mismatch-401");
    await using portarium = client(s.address);
    await expect(portarium.runs.list({ workspaceId: "ws-other" })).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(s.seen).toHaveLength(1);
  });

  it("verifyChain accepts sha256:-prefixed hashes, and still checks them", async () => {
    const fixture = loadFixture("evidence-sha256-prefix");
    const s = await serve(fixture);
    await using portarium = client(s.address);
    const entries = await portarium.evidence.list().toArray();
    expect(entries.map((e) => e.hashSha256.slice(0, 7))).toEqual(["sha256:", "sha256:", "sha256:"]);
    expect(await portarium.evidence.verifyChain()).toEqual({ entries: 3, problem: undefined });
    await s.close();

    // The same log with one summary changed no longer verifies.
    const tampered = structuredClone(fixture);
    (entriesOf(tampered)[1] as { summary: string }).summary = "Approval granted";
    const t = await serve(tampered);
    await using other = client(t.address);
    const verdict = await other.evidence.verifyChain();
    expect(verdict.problem).toMatchObject({ index: 1, evidenceId: "evd-0002" });
    expect(verdict.problem?.reason).toContain("hashSha256 sha256:");

    // And a broken link is found, whichever way the hashes are spelt.
    const unlinked = structuredClone(fixture);
    (entriesOf(unlinked)[2] as { previousHash?: string }).previousHash = `sha256:${"0".repeat(64)}`;
    const u = await serve(unlinked);
    await using third = client(u.address);
    expect((await third.evidence.verifyChain()).problem).toMatchObject({ index: 2, evidenceId: "evd-0003" });
  });

  it("accepts responses with more fields than the contract declares", async () => {
    const s = await serve("extra-fields");
    await using portarium = client(s.address);
    expect(await portarium.workspaces.get("ws-local")).toMatchObject({ workspaceId: "ws-local", tenantId: "ws-local" });
    const page = await portarium.runs.list();
    expect(page.items.map((r) => r.runId)).toEqual(["run-42"]);
    expect(page.items[0]).toMatchObject({ status: "Running", retryCount: 0 });
    const err = await portarium.runs.get("run-404").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).detail).toBe("Run run-404 not found.");
    const events = [];
    for await (const e of portarium.machines.streamInvocation("machine-3", "inv-1")) events.push(e);
    expect(events.map((e) => [e.status, (e as { correlationId?: string }).correlationId])).toEqual([
      ["running", "corr-7f3a"],
      ["completed", "corr-7f3a"],
    ]);
  });
});
