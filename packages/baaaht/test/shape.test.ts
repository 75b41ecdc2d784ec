/**
 * The baaaht client on the one client shape: options, defaults, handles, lists, options
 * objects, errors, retries and streams. Most run against tiny connect-node servers that
 * answer exactly what a case needs; the rest against baton-server.
 */
import {
  BAAAHT_DEFAULTS,
  BAAAHT_SOCKET_ENV,
  BaaahtClient,
  type BaaahtClientOptions,
  DEFAULT_BAAAHT_ADDRESS,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  ProtocolError,
  UnavailableError,
} from "@baton/baaaht";
import {
  type CloseSessionRequest,
  ContainerState,
  OrchestratorService,
  type RemoveContainerRequest,
  SessionState,
  type StopContainerRequest,
} from "@baton/baaaht/wire";
import { BatonClient, type ClientOptions, Connection, clientAddress, PagedList } from "@baton/core";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { type FakeServer, startFakeServer } from "./fake-server.js";
import { type Harness, only, rejectsWith, startHarness, take, until } from "./helpers.js";
import { countCalls, countHeartbeats } from "./interceptors.js";

/** A client on a socket nobody listens on: what it does without any network call is under test. */
function offline(options: BaaahtClientOptions = {}): BaaahtClient {
  return new BaaahtClient({ address: "unix:///nonexistent/baaaht-test.sock", retry: false, ...options });
}

describe("entry and options", () => {
  it("is a BatonClient whose options extend core's ClientOptions with the seed's stream settings", async () => {
    expectTypeOf<BaaahtClientOptions>().toExtend<ClientOptions>();
    expectTypeOf<BaaahtClientOptions["reconnectIntervalMs"]>().toEqualTypeOf<number | undefined>();
    const c = offline({ reconnectIntervalMs: 100, maxReconnectAttempts: 3, heartbeatIntervalMs: 50 });
    expect(c).toBeInstanceOf(BatonClient);
    // The stream settings are the client's, not connection options.
    expect(Object.keys(c.connection.options)).not.toContain("reconnectIntervalMs");
    const closing = c.close();
    expect(closing).toBeInstanceOf(Promise);
    await closing;
    expect(c.connection.closed).toBe(true);
  });

  it("closes with await using, and leaves a shared connection open", async () => {
    const shared = new Connection({ address: "unix:///nonexistent/shared.sock" });
    {
      await using c = new BaaahtClient({ connection: shared });
      expect(c.connection).toBe(shared);
    }
    expect(shared.closed).toBe(false);
    let owned: Connection | undefined;
    {
      await using c = offline();
      owned = c.connection;
    }
    expect(owned.closed).toBe(true);
    await shared.close();
  });

  it("refuses bad stream settings with InvalidArgumentError", () => {
    expect(() => offline({ heartbeatIntervalMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => offline({ reconnectIntervalMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => offline({ maxReconnectAttempts: 1.5 })).toThrow(InvalidArgumentError);
  });
});

describe("default address", () => {
  it("is the seed's socket, or GRPC_SOCKET_PATH as a unix:// address", () => {
    expect(BAAAHT_SOCKET_ENV).toBe("GRPC_SOCKET_PATH");
    expect(DEFAULT_BAAAHT_ADDRESS).toBe("unix:///tmp/baaaht-grpc.sock");
    expect(clientAddress({}, BAAAHT_DEFAULTS, {})).toBe("unix:///tmp/baaaht-grpc.sock");
    expect(clientAddress({}, BAAAHT_DEFAULTS, { GRPC_SOCKET_PATH: "/run/o.sock" })).toBe("unix:///run/o.sock");
    expect(clientAddress({ address: "127.0.0.1:9" }, BAAAHT_DEFAULTS, { GRPC_SOCKET_PATH: "/run/o.sock" })).toBe(
      "127.0.0.1:9",
    );
  });

  it("keeps a socket path with % intact", () => {
    const before = process.env.GRPC_SOCKET_PATH;
    process.env.GRPC_SOCKET_PATH = "/tmp/a%20b.sock";
    try {
      const c = new BaaahtClient();
      expect(c.connection.address.socketPath).toBe("/tmp/a%20b.sock");
      void c.close();
    } finally {
      if (before === undefined) delete process.env.GRPC_SOCKET_PATH;
      else process.env.GRPC_SOCKET_PATH = before;
    }
  });
});

describe("handles", () => {
  it("getHandle(id) makes a handle with that id and no call, for every long-lived thing", () => {
    const counter = countCalls();
    const c = offline({ interceptors: [counter.interceptor] });
    const handles = [
      c.sessions.getHandle("s-1"),
      c.containers.getHandle("c-1"),
      c.tasks.getHandle("t-1"),
      c.gateway.getHandle("g-1"),
      c.agents.getHandle("a-1"),
    ];
    expect(handles.map((x) => x.id)).toEqual(["s-1", "c-1", "t-1", "g-1", "a-1"]);
    expect(counter.calls).toEqual([]);
    void c.close();
  });
});

describe("no synchronous throws", () => {
  it("bad input rejects the returned promise with InvalidArgumentError", async () => {
    const c = offline();
    const calls: Array<() => PromiseLike<unknown>> = [
      () => c.containers.stop("c", { timeoutMs: -1 }),
      () => c.containers.getHandle("c").stop({ timeoutMs: Number.NaN }),
      () => c.sessions.list({ state: "BOGUS" as never }),
      () => c.containers.list({ state: 99 as never }),
      () => c.gateway.list({ state: "NOPE" as never }),
      () => c.tasks.list({ type: "NOPE" as never }),
      () => c.tasks.execute({ type: "NOPE" as never }),
      () => c.agents.register({ name: "x", heartbeatIntervalMs: 0 }),
      () => c.agents.register({ name: "x", type: "ROBOT" as never }),
      () => c.agents.getHandle("a", { heartbeatIntervalMs: -5 }).ready,
      () => c.agents.getHandle("a").tasks({ state: "LATE" as never }),
    ];
    for (const call of calls) {
      let result: PromiseLike<unknown> | undefined;
      expect(() => {
        result = call();
      }).not.toThrow();
      await rejectsWith(Promise.resolve(result), InvalidArgumentError);
    }
    await c.close();
  });

  it("no method of a handle or stream throws synchronously, even with no arguments", async () => {
    const c = offline();
    const session = c.sessions.getHandle("s");
    const gateway = c.gateway.getHandle("g");
    const task = c.tasks.getHandle("t");
    const objects: Record<string, object> = {
      session,
      container: c.containers.getHandle("c"),
      task,
      gateway,
      agent: c.agents.getHandle("a"),
      sessionStream: session.stream(),
      chatStream: gateway.chat(),
      taskStream: task.stream(),
    };
    const methods = (o: object) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(o)).filter(
        (n) =>
          n !== "constructor" &&
          typeof Object.getOwnPropertyDescriptor(Object.getPrototypeOf(o), n)?.value === "function",
      );
    let called = 0;
    for (const [name, o] of Object.entries(objects)) {
      for (const m of methods(o)) {
        let result: unknown;
        expect(() => {
          result = (o as Record<string, (...a: unknown[]) => unknown>)[m]?.call(o);
        }, `${name}.${m}()`).not.toThrow();
        called++;
        if (result instanceof Promise || result instanceof PagedList) await Promise.resolve(result).catch(() => {});
      }
    }
    expect(called).toBeGreaterThanOrEqual(20);
    await c.close();
  });

  it("streams with bad input fail when iterated, not when made", async () => {
    const c = offline();
    const streams: Array<() => AsyncIterable<unknown>> = [
      () => c.events.subscribe({ type: "NOPE" as never }),
      () => c.events.subscribe({ priority: "URGENT" as never }),
      () => c.events.subscribe({ since: new Date("not a date") }),
      () => c.events.subscribe({ until: Number.NaN }),
      () => c.gateway.events({ type: "NOPE" as never }),
      () => c.gateway.getHandle("g").events({ since: Number.POSITIVE_INFINITY }),
    ];
    for (const make of streams) {
      let stream: AsyncIterable<unknown> | undefined;
      expect(() => {
        stream = make();
      }).not.toThrow();
      await rejectsWith(take(stream as AsyncIterable<unknown>, 1), InvalidArgumentError);
    }
    await c.close();
  });
});

describe("against a tiny server", () => {
  let fake: FakeServer;
  let getSessionCalls = 0;
  let closeSessionCalls = 0;
  const seen: { stop?: StopContainerRequest; remove?: RemoveContainerRequest; close?: CloseSessionRequest } = {};
  beforeAll(async () => {
    fake = await startFakeServer((router) =>
      router.service(OrchestratorService, {
        // Fails the first attempt of each call as a restarting server does, then answers.
        getSession(req) {
          getSessionCalls++;
          if (getSessionCalls === 1) throw new ConnectError("restarting", Code.Unavailable);
          return { session: { id: req.sessionId, state: SessionState.ACTIVE } };
        },
        closeSession(req) {
          closeSessionCalls++;
          seen.close = req;
          if (closeSessionCalls === 1) throw new ConnectError("restarting", Code.Unavailable);
          return { sessionId: req.sessionId, state: SessionState.CLOSED };
        },
        // Answers without the container it must carry.
        getContainer: () => ({}),
        createSession: () => ({}),
        createContainer: () => ({ containerId: "" }),
        listSessions: () => ({ sessions: [{ id: "s-a" }, { id: "s-b" }], totalCount: 2 }),
        stopContainer(req) {
          seen.stop = req;
          return { containerId: req.containerId, state: ContainerState.EXITED };
        },
        removeContainer(req) {
          seen.remove = req;
          return { containerId: req.containerId };
        },
      }),
    );
  });
  afterAll(async () => {
    await fake?.close();
  });
  const client = () => new BaaahtClient({ address: fake.address, retry: { initialBackoffMs: 1, maxBackoffMs: 5 } });

  it("retries a read on UNAVAILABLE, and not a write", async () => {
    const c = client();
    const s = await c.sessions.get("s-1");
    expect(s.id).toBe("s-1");
    expect(getSessionCalls).toBe(2);
    await rejectsWith(c.sessions.close("s-1"), UnavailableError);
    expect(closeSessionCalls).toBe(1);
    await c.close();
  });

  it("a response without its required field is a ProtocolError, not the caller's InvalidArgumentError", async () => {
    const c = client();
    const err = await rejectsWith(c.containers.get("c-1"), ProtocolError);
    expect(err).not.toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(/container/);
    await rejectsWith(c.sessions.create(), ProtocolError);
    await rejectsWith(c.containers.create("s-1", { image: "a" }), ProtocolError);
    await c.close();
  });

  it("lists are PagedLists: awaitable as a page, iterable as items", async () => {
    const c = client();
    const list = c.sessions.list();
    expect(list).toBeInstanceOf(PagedList);
    const page = await list;
    expect(page.items.map((s) => s.id)).toEqual(["s-a", "s-b"]);
    expect(page.nextCursor).toBeUndefined();
    const ids: string[] = [];
    for await (const s of c.sessions.list()) ids.push(s.id);
    expect(ids).toEqual(["s-a", "s-b"]);
    expect((await c.sessions.list().toArray(1)).map((s) => s.id)).toEqual(["s-a"]);
    await c.close();
  });

  it("takes options objects: stop({ timeoutMs }), remove({ force }), close({ reason })", async () => {
    const c = client();
    expect(await c.containers.stop("c-1", { timeoutMs: 1500 })).toBe(ContainerState.EXITED);
    expect(seen.stop?.timeoutNs).toBe(1_500_000_000n);
    await c.containers.stop("c-2");
    expect(seen.stop?.timeoutNs).toBe(0n);
    await c.containers.getHandle("c-3").remove({ force: true });
    expect(seen.remove).toMatchObject({ containerId: "c-3", force: true });
    await c.containers.remove("c-4");
    expect(seen.remove).toMatchObject({ containerId: "c-4", force: false });
    closeSessionCalls = 1; // the next close answers
    expect(await c.sessions.getHandle("s-9").close({ reason: "User logged out" })).toBe(SessionState.CLOSED);
    expect(seen.close).toMatchObject({ sessionId: "s-9", reason: "User logged out" });
    await c.close();
  });
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("streams against baton-server", () => {
  it("a quiet stream fails with DeadlineExceededError after its own idleTimeoutMs", async () => {
    const quiet = h.unix.events.subscribe({ type: "SYSTEM_SHUTDOWN" }, { idleTimeoutMs: 150 });
    await rejectsWith(take(quiet, 1, 10_000), DeadlineExceededError);
  });

  it("timeoutMs is the unary deadline only: a stream outlives it", async () => {
    const beats = countHeartbeats();
    const c = h.client("unix", { timeoutMs: 60, interceptors: [beats.interceptor] });
    const { id } = await h.unix.sessions.create();
    const s = c.sessions.getHandle(id).stream();
    await s.ready;
    // The server sends a heartbeat every 25 ms: after 8 of them the stream is well past 60 ms.
    await until(() => beats.received() >= 8);
    const next = take(s, 1);
    await h.unix.sessions.getHandle(id).send("still open");
    const [item] = await next;
    expect(item?.kind === "message" && item.message.content).toBe("still open");
  });

  it("an events.subscribe() result iterated twice gives the same answer from the same start", async () => {
    const owner = `twice-${Date.now()}`;
    const created = h.unix.events.subscribe({ type: "SESSION_CREATED" });
    // Made after subscribe() and before either iteration: both iterations must replay them.
    const a = await h.unix.sessions.create({ metadata: { ownerId: owner } });
    const b = await h.unix.sessions.create({ metadata: { ownerId: owner } });
    const mine = only(created, (e) => e.metadata?.userId === owner);
    const first = (await take(mine, 2)).map((e) => e.metadata?.sessionId);
    const second = (await take(mine, 2)).map((e) => e.metadata?.sessionId);
    expect(first).toEqual([a.id, b.id]);
    expect(second).toEqual([a.id, b.id]);
  });

  it("an unknown session's stream rejects ready and the iteration with NotFoundError", async () => {
    const s = h.unix.sessions.getHandle("missing").stream();
    await rejectsWith(s.ready, NotFoundError);
    await rejectsWith(take(s, 1), NotFoundError);
  });
});
