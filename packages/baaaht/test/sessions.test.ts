import { BaaahtClient, type BaaahtClientOptions, type SessionStreamItem } from "@baton/baaaht";
import { EventType, MessageRole, SessionState } from "@baton/baaaht/wire";
import {
  CanceledError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "@baton/core";
import { ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";
import { countHeartbeats } from "./interceptors.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("client defaults", () => {
  it("reaches the server through GRPC_SOCKET_PATH with no address", async () => {
    const before = process.env.GRPC_SOCKET_PATH;
    process.env.GRPC_SOCKET_PATH = h.socketPath;
    try {
      await using c = new BaaahtClient();
      expect(c.connection.address.socketPath).toBe(h.socketPath);
      expect(await c.health.check()).toBe("SERVING");
    } finally {
      if (before === undefined) delete process.env.GRPC_SOCKET_PATH;
      else process.env.GRPC_SOCKET_PATH = before;
    }
  });

  it("maps the seed's client settings onto the connection", async () => {
    const opts: BaaahtClientOptions = {
      address: `unix://${h.socketPath}`,
      dialTimeoutMs: 1234,
      timeoutMs: 999,
      maxSendMessageBytes: 100,
      maxReceiveMessageBytes: 200,
      reconnectIntervalMs: 50,
      maxReconnectAttempts: 3,
    };
    await using c = new BaaahtClient(opts);
    expect(c.connection.options.dialTimeoutMs).toBe(1234);
    expect(c.connection.options.timeoutMs).toBe(999);
    expect(c.connection.options.maxSendMessageBytes).toBe(100);
    expect(c.connection.options.maxReceiveMessageBytes).toBe(200);
  });

  it("refuses messages over maxSendMessageBytes on the client", async () => {
    const c = h.client("unix", { maxSendMessageBytes: 64 });
    const session = await h.unix.sessions.create({ metadata: { name: "big" } });
    await rejectsWith(c.sessions.getHandle(session.id).send("x".repeat(500)), ResourceExhaustedError);
    // Nothing reached the server.
    expect((await session.get()).context?.messages).toEqual([]);
  });
});

describe.each(["unix", "tcp"] as const)("sessions over %s", (transport) => {
  const client = () => (transport === "unix" ? h.unix : h.tcp);

  it("creates, gets, updates and closes a session", async () => {
    const handle = await client().sessions.create({
      metadata: { name: `s-${transport}`, ownerId: "user-123", labels: { team: "a" } },
      config: { maxContainers: 10, idleTimeoutNs: 3_600_000_000_000n },
    });
    const session = await handle.get();
    expect(session.id).toBe(handle.id);
    expect(session.state).toBe(SessionState.ACTIVE);
    expect(session.expiresAt).toBeDefined();
    const got = await client().sessions.get(handle.id);
    expect(got.metadata?.name).toBe(`s-${transport}`);
    const updated = await handle.update({ metadata: { name: "renamed", ownerId: "user-123", labels: { team: "b" } } });
    expect(updated.metadata?.name).toBe("renamed");
    expect(await handle.close({ reason: "User logged out" })).toBe(SessionState.CLOSED);
    const closed = await handle.get();
    expect(closed.state).toBe(SessionState.CLOSED);
    expect(closed.closedAt).toBeDefined();
    await rejectsWith(handle.send("late"), FailedPreconditionError);
    await rejectsWith(handle.update({ metadata: { name: "x" } }), FailedPreconditionError);
  });

  it("refuses unknown sessions and bad input", async () => {
    await rejectsWith(client().sessions.get("nope"), NotFoundError);
    await rejectsWith(client().sessions.create({ config: { maxContainers: -1 } }), InvalidArgumentError);
  });
});

describe("ListSessions filters", () => {
  it("filters by state, owner and labels", async () => {
    const owner = `owner-${Date.now()}`;
    const a = await h.unix.sessions.create({ metadata: { name: "a", ownerId: owner, labels: { env: "dev" } } });
    const b = await h.unix.sessions.create({ metadata: { name: "b", ownerId: owner, labels: { env: "prod" } } });
    await h.unix.sessions.create({ metadata: { name: "c", ownerId: "someone-else", labels: { env: "dev" } } });
    await h.unix.sessions.close(b.id);
    const ids = async (list: AsyncIterable<{ id: string }>) => {
      const out: string[] = [];
      for await (const s of list) out.push(s.id);
      return out;
    };
    expect((await ids(h.unix.sessions.list({ ownerId: owner }))).sort()).toEqual([a.id, b.id].sort());
    expect(await ids(h.unix.sessions.list({ ownerId: owner, state: "ACTIVE" }))).toEqual([a.id]);
    expect(await ids(h.unix.sessions.list({ ownerId: owner, state: SessionState.CLOSED }))).toEqual([b.id]);
    expect(await ids(h.unix.sessions.list({ ownerId: owner, labels: { env: "dev" } }))).toEqual([a.id]);
  });
});

describe("expiry (on the server's manual clock)", () => {
  const clock = new ManualClock();
  let m: Harness;
  beforeAll(async () => {
    m = await startHarness({}, { clock });
  });
  afterAll(async () => {
    await m?.close();
  });

  it("closes a session after its idle timeout, and activity pushes it back", async () => {
    const handle = await m.unix.sessions.create({ config: { idleTimeoutNs: 1_200_000_000n } });
    clock.advance(600);
    await handle.send("still here"); // the deadline moves to 600 + 1200 ms
    clock.advance(800); // past the first deadline, not the second
    expect((await handle.get()).state).toBe(SessionState.ACTIVE);
    clock.advance(400);
    await until(async () => (await handle.get()).state === SessionState.CLOSED);
  });

  it("closes a session after its max duration despite activity", async () => {
    const handle = await m.unix.sessions.create({ config: { maxDurationNs: 250_000_000n } });
    const closing = take(m.unix.events.subscribe({ sessionId: handle.id, type: "SESSION_CLOSED", since: 0 }), 1);
    for (let i = 0; i < 2; i++) {
      await handle.send(`ping ${i}`);
      clock.advance(100);
    }
    expect((await handle.get()).state).toBe(SessionState.ACTIVE);
    await handle.send("ping 2");
    clock.advance(100);
    const [closed] = await closing;
    expect(closed?.data.reason).toBe("max duration exceeded");
    expect((await handle.get()).state).toBe(SessionState.CLOSED);
    await rejectsWith(handle.send("late"), FailedPreconditionError);
  });
});

describe("messages", () => {
  it("SendMessage and StreamMessages agree: every open stream gets every message, history keeps them", async () => {
    const handle = await h.unix.sessions.create({ metadata: { name: "chat" } });
    const s1 = handle.stream();
    const s2 = h.tcp.sessions.getHandle(handle.id).stream();
    await Promise.all([s1.ready, s2.ready]);
    const got1 = take(s1, 2);
    const got2 = take(s2, 2);
    await handle.send("from unary");
    await s2.send({ role: MessageRole.ASSISTANT, content: "from stream" });
    const [a, b] = await Promise.all([got1, got2]);
    const texts = (items: SessionStreamItem[]) => items.map((i) => (i.kind === "message" ? i.message.content : "?"));
    expect(texts(a)).toEqual(["from unary", "from stream"]);
    expect(texts(b)).toEqual(["from unary", "from stream"]);
    const history = (await handle.get()).context?.messages ?? [];
    expect(history.map((m) => m.content)).toEqual(["from unary", "from stream"]);
    expect(history[1]?.role).toBe(MessageRole.ASSISTANT);
  });

  it("hides heartbeats and keeps a quiet stream open", async () => {
    const beats = countHeartbeats();
    const c = h.client("unix", { interceptors: [beats.interceptor] });
    const handle = await c.sessions.create();
    const s = handle.stream();
    await s.ready;
    const items = take(s, 1, 3000);
    // Several heartbeats come and go before the message; none of them is an item.
    await until(() => beats.received() >= 4);
    await handle.send("after the quiet");
    const [first] = await items;
    expect(first?.kind === "message" && first.message.content).toBe("after the quiet");
  });

  it("half-close ends the stream after its own messages came back", async () => {
    const handle = await h.unix.sessions.create();
    const s = handle.stream();
    await s.send("one");
    await s.send("two");
    s.end();
    const all: string[] = [];
    for await (const item of s) if (item.kind === "message") all.push(item.message.content);
    expect(all).toEqual(["one", "two"]);
  });

  it("the client can cancel (break) and the session stays usable", async () => {
    const handle = await h.unix.sessions.create();
    const s = handle.stream();
    await s.ready;
    void handle.send("x");
    for await (const _ of s) break;
    await rejectsWith(s.send("after cancel"), CanceledError);
    await handle.send("still fine");
    expect((await handle.get()).context?.messages.map((m) => m.content)).toEqual(["x", "still fine"]);
  });

  it("a signal cancels the stream with CanceledError", async () => {
    const handle = await h.unix.sessions.create();
    const controller = new AbortController();
    const s = handle.stream({ signal: controller.signal });
    await s.ready;
    const next = take(s, 1);
    controller.abort();
    await rejectsWith(next, CanceledError);
  });

  it("the server ends open streams when the session closes", async () => {
    const handle = await h.unix.sessions.create();
    const s = handle.stream();
    await s.ready;
    const seen: SessionStreamItem[] = [];
    const done = (async () => {
      for await (const item of s) seen.push(item);
    })();
    await handle.close({ reason: "bye" });
    await done;
    const last = seen.at(-1);
    expect(last?.kind === "event" && last.event.type).toBe(EventType.SESSION_CLOSED);
  });
});
