/**
 * `runners.events()` over a connection that really drops: a TCP proxy between the client
 * and baton-server cuts every socket, holds the client's reconnect while events happen,
 * then lets it through. The stream resumes after the last event it delivered: every event
 * exactly once, in order.
 */
import { type BatonServer, startServer } from "@baton/server";
import { EventType, RunnerStatus, StratavoreClient, type StratavoreEvent } from "@baton/stratavore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TcpProxy } from "./support.js";

let server: BatonServer;
let proxy: TcpProxy;
let direct: StratavoreClient;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"] });
  proxy = await TcpProxy.start(server.addresses[0] as string);
  direct = new StratavoreClient({ address: server.addresses[0] as string });
});
afterAll(async () => {
  await direct?.close();
  await proxy?.close();
  await server?.close();
});

describe("runners.events() after a dropped connection", () => {
  it("resumes after the last event seen, losing none and repeating none", async () => {
    await direct.projects.create({ name: "resume" });
    await using proxied = new StratavoreClient({
      address: proxy.address,
      retry: { initialBackoffMs: 10, maxBackoffMs: 50 },
    });
    const stream = proxied.runners.events({ projectName: "resume", fromStart: true })[Symbol.asyncIterator]();
    const next = async () => {
      const r = await stream.next();
      if (r.done) throw new Error("the event stream ended");
      return r.value;
    };
    const got: StratavoreEvent[] = [];

    const a = await direct.runners.create({ projectName: "resume" });
    got.push(await next(), await next()); // CREATED, STARTED
    expect(got.map((e) => e.type)).toEqual([EventType.RUNNER_CREATED, EventType.RUNNER_STARTED]);
    const connectionsBefore = proxy.connections;

    // The client's socket dies; its reconnect waits at the proxy while four events happen.
    proxy.hold();
    proxy.cut();
    await a.handle.stop();
    const b = await direct.runners.create({ projectName: "resume" });
    await b.handle.waitFor(RunnerStatus.RUNNING);
    proxy.release();

    for (let i = 0; i < 4; i++) got.push(await next());
    await stream.return?.();
    expect(proxy.connections).toBeGreaterThan(connectionsBefore); // it did reconnect

    // What a stream that never dropped saw: the project's events from the start.
    const truth: StratavoreEvent[] = [];
    for await (const e of direct.runners.events({ projectName: "resume", fromStart: true })) {
      truth.push(e);
      if (truth.length === 6) break;
    }
    expect(truth.map((e) => [e.runnerId, e.type])).toEqual([
      [a.runner.id, EventType.RUNNER_CREATED],
      [a.runner.id, EventType.RUNNER_STARTED],
      [a.runner.id, EventType.RUNNER_STOPPING],
      [a.runner.id, EventType.RUNNER_STOPPED],
      [b.runner.id, EventType.RUNNER_CREATED],
      [b.runner.id, EventType.RUNNER_STARTED],
    ]);
    expect(got.map((e) => e.id)).toEqual(truth.map((e) => e.id));
    expect(new Set(got.map((e) => e.id)).size).toBe(6);
  });
});
