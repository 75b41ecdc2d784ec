import { type BatonServer, startServer } from "@baton/server";
import {
  AlreadyExistsError,
  BudgetExceededError,
  EventType,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  RunnerStatus,
  StratavoreClient,
  stratavoreErrorInfo,
  UnauthenticatedError,
} from "@baton/stratavore";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: BatonServer;
let sv: StratavoreClient;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"] });
  sv = new StratavoreClient({ address: server.addresses[0] as string });
});
afterAll(async () => {
  await sv?.close();
  await server?.close();
});

describe("stratavore against baton-server", () => {
  it("runs a runner through its lifecycle, every transition a typed event", async () => {
    await sv.projects.create({ name: "life", path: "/tmp" });
    const { runner, handle } = await sv.runners.create({
      projectName: "life",
      model: "claude-3-sonnet",
      temperature: 0.7,
      maxTokens: 4096,
      metadata: { environment: "development" },
    });
    expect(runner.status).toBe(RunnerStatus.STARTING);
    await handle.waitFor(RunnerStatus.RUNNING);
    await sv.runners.update(runner.id, { status: RunnerStatus.PAUSED });
    await sv.runners.update(runner.id, { status: RunnerStatus.RUNNING });
    const stopped = await handle.stop();
    expect(stopped.status).toBe(RunnerStatus.TERMINATED);
    const seen: EventType[] = [];
    for await (const e of sv.runners.events({ runnerId: runner.id, fromStart: true })) {
      seen.push(e.type);
      expect(e.payload?.$typeName).toBe("stratavore.v1.RunnerStateChange");
      if (e.type === EventType.RUNNER_STOPPED) break;
    }
    expect(seen).toEqual([
      EventType.RUNNER_CREATED,
      EventType.RUNNER_STARTED,
      EventType.RUNNER_PAUSED,
      EventType.RUNNER_RESUMED,
      EventType.RUNNER_STOPPING,
      EventType.RUNNER_STOPPED,
    ]);
    await expect(handle.stop()).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("refuses unknown models and out-of-range settings, duplicate projects, missing runners", async () => {
    await sv.projects.create({ name: "rules" });
    await expect(sv.runners.create({ projectName: "rules", model: "gpt-4" })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(sv.runners.create({ projectName: "rules", temperature: 1.5 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    const dup = await sv.projects.create({ name: "rules" }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(AlreadyExistsError);
    expect(stratavoreErrorInfo(dup)?.code).toBe("PROJECT_ALREADY_EXISTS");
    const missing = await sv.runners.get("run-nope").catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).requestId).toBe(stratavoreErrorInfo(missing)?.requestId);
    expect((missing as NotFoundError).errorInfo?.metadata.runner_id).toBe("run-nope");
  });

  it("never overshoots max_concurrent_runners under concurrent creates", async () => {
    await sv.projects.create({ name: "quota", quota: { maxConcurrentRunners: 3 } });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => sv.runners.create({ projectName: "quota" })),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(3);
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(BudgetExceededError);
      expect((r.reason as BudgetExceededError).limit).toBe("max_concurrent_runners");
    }
    const stats = (await sv.projects.get("quota", { includeStats: true })).statistics;
    expect(stats?.activeRunners).toBe(3);
    expect(stats?.totalRunners).toBe(3);
    await expect(sv.projects.delete("quota")).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("pages runners by offset: has_more, total_count, for await over all", async () => {
    await sv.projects.create({ name: "paging" });
    for (let i = 0; i < 7; i++) await sv.runners.create({ projectName: "paging", metadata: { i: String(i) } });
    const first = await sv.runners.list({ projectName: "paging", limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).toBe("3");
    const raw = await sv.raw.runners.listRunners({ projectName: "paging", limit: 3, offset: 6 });
    expect(raw.totalCount).toBe(7);
    expect(raw.hasMore).toBe(false);
    const all: string[] = [];
    for await (const r of sv.runners.list({ projectName: "paging", limit: 3 })) all.push(r.metadata.i ?? "");
    expect(all).toEqual(["0", "1", "2", "3", "4", "5", "6"]);
  });

  it("renders transcripts as the server does, in JSON, text and Markdown, and stops at the token quota", async () => {
    await sv.projects.create({ name: "talk", quota: { maxTokensPerDay: 100 } });
    const { runner, handle } = await sv.runners.create({ projectName: "talk" });
    await handle.waitFor(RunnerStatus.RUNNING);
    const session = await sv.sessions.create(runner.id, {
      messages: [
        { role: "user", content: "write a test", tokens: 10 },
        { role: "assistant", content: "done", tokens: 30 },
      ],
    });
    await expect(
      sv.sessions.create(runner.id, { messages: [{ role: "user", content: "more", tokens: 61 }] }),
    ).rejects.toBeInstanceOf(BudgetExceededError);
    for (const format of ["json", "text", "markdown"] as const) {
      const t = await sv.sessions.transcript(session.id, { format, includeMetadata: true });
      expect(t.totalTokens).toBe(40n);
      expect(t.render(format)).toBe(t.rendered);
    }
    const text = await sv.sessions.transcript(session.id, { format: "text" });
    expect(text.rendered).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] user: write a test\n/);
    await expect(sv.sessions.transcript(session.id, { format: "yaml" as unknown as "json" })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect((await sv.projects.get("talk", { includeStats: true })).statistics?.tokensUsedToday).toBe(40n);
    await handle.stop();
    const resumed = await sv.sessions.resume(session.id);
    expect(resumed.session.id).toBe(session.id);
    expect(resumed.runner.sessionId).toBe(session.id);
    expect(resumed.runner.id).not.toBe(runner.id);
  });

  it("waitFor reads the runner again only on status changes, and events() can be iterated twice", async () => {
    await sv.projects.create({ name: "waits" });
    let getRunner = 0;
    let watch: { after: number; done: () => void } | undefined;
    const counting = new StratavoreClient({
      address: server.addresses[0] as string,
      interceptors: [
        (next) => async (req) => {
          if (req.method.name === "GetRunner") getRunner++;
          const res = await next(req);
          const w = watch;
          if (!res.stream || req.method.name !== "StreamRunnerEvents" || !w) return res;
          watch = undefined;
          const inner = res.message;
          // Resolves when the consumer asks for the event after the `after`th: it has handled those.
          const message = (async function* () {
            let n = 0;
            for await (const m of inner) {
              yield m;
              if (++n === w.after) w.done();
            }
          })();
          return { ...res, message };
        },
      ],
    });
    try {
      const { runner, handle } = await counting.runners.create({ projectName: "waits" });
      await handle.waitFor(RunnerStatus.RUNNING);
      for (let i = 0; i < 40; i++) await counting.runners.update(runner.id, { metadata: { i: String(i) } });
      getRunner = 0;
      // The wait's replay: CREATED, STARTED and 40 UPDATEDs, none of them a change to PAUSED.
      const replayed = new Promise<void>((done) => {
        watch = { after: 42, done };
      });
      const paused = handle.waitFor(RunnerStatus.PAUSED);
      await replayed;
      expect(getRunner).toBe(1);
      await counting.runners.update(runner.id, { status: RunnerStatus.PAUSED });
      expect((await paused).status).toBe(RunnerStatus.PAUSED);
      // Once before following, once for the PAUSED change: not once per replayed event.
      expect(getRunner).toBe(2);
      const events = counting.runners.events({ runnerId: runner.id, fromStart: true });
      const firstType = async () => {
        for await (const e of events) return e.type;
        return undefined;
      };
      expect(await firstType()).toBe(EventType.RUNNER_CREATED);
      expect(await firstType()).toBe(EventType.RUNNER_CREATED);
    } finally {
      await counting.close();
    }
  });

  it("answers daemon status, metrics, health and reconcile", async () => {
    const status = await sv.daemon.status({ detailed: true });
    expect(status.daemonStatus?.version).toMatch(/^baton-server /);
    expect(status.components.runtime?.state).toBe("record");
    expect(status.components.runtime?.message).toContain("without running anything");
    const metrics = await sv.daemon.metrics();
    expect(metrics.systemMetrics?.cpuCount).toBeGreaterThan(0);
    expect(metrics.daemonMetrics?.requestsTotal).toBeGreaterThan(0n);
    expect((await sv.daemon.health()).status).toBe(1);
    expect((await sv.daemon.reconcile()).actions).toEqual([]);
  });
});

describe("stratavore JWT auth", () => {
  const secret = "a-shared-secret-of-enough-length-32b";
  let jwtServer: BatonServer;
  beforeAll(async () => {
    jwtServer = await startServer({
      listen: ["127.0.0.1:0"],
      settings: { "stratavore.jwtSecret": secret, "stratavore.jwtAudience": "stratavore" },
    });
  });
  afterAll(async () => {
    await jwtServer?.close();
  });
  const sign = (claims: Record<string, unknown>, opts: { key?: string; aud?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(opts.aud ?? "stratavore")
      .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 3600)
      .sign(new TextEncoder().encode(opts.key ?? secret));
  const client = (token: string) =>
    new StratavoreClient({ address: jwtServer.addresses[0] as string, token, retry: false });

  it("accepts a valid token and refuses expired, wrong-signature, wrong-audience and role-less ones", async () => {
    await using ok = client(await sign({ roles: ["stratavore:write"] }));
    await ok.projects.create({ name: "jwt" });
    await using expired = client(await sign({ roles: ["stratavore:read"] }, { exp: 1000 }));
    await expect(expired.projects.get("jwt")).rejects.toBeInstanceOf(UnauthenticatedError);
    await using forged = client(
      await sign({ roles: ["stratavore:read"] }, { key: "another-secret-another-secret-xx" }),
    );
    await expect(forged.projects.get("jwt")).rejects.toBeInstanceOf(UnauthenticatedError);
    await using elsewhere = client(await sign({ roles: ["stratavore:read"] }, { aud: "portarium" }));
    await expect(elsewhere.projects.get("jwt")).rejects.toBeInstanceOf(UnauthenticatedError);
    await using reader = client(await sign({ roles: ["stratavore:read"] }));
    expect((await reader.projects.get("jwt")).name).toBe("jwt");
    await expect(reader.projects.create({ name: "nope" })).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(ok.daemon.reconcile()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
