import { BaaahtClient, type BaaahtClientOptions, defaultBaaahtAddress, type SessionStreamItem } from "@baton/baaaht";
import { EventType, MessageRole, SessionState } from "@baton/baaaht/wire";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("client defaults", () => {
  it("dials the seed's socket, or GRPC_SOCKET_PATH", () => {
    expect(defaultBaaahtAddress({})).toBe("unix:///tmp/baaaht-grpc.sock");
    expect(defaultBaaahtAddress({ GRPC_SOCKET_PATH: "/run/x.sock" })).toBe("unix:///run/x.sock");
  });

  it("reaches the server through GRPC_SOCKET_PATH with no address", async () => {
    const before = process.env.GRPC_SOCKET_PATH;
    process.env.GRPC_SOCKET_PATH = h.socketPath;
    try {
      const c = new BaaahtClient();
      expect(c.connection.address.socketPath).toBe(h.socketPath);
      expect(await c.health.check()).toBe("SERVING");
      c.close();
    } finally {
      if (before === undefined) delete process.env.GRPC_SOCKET_PATH;
      else process.env.GRPC_SOCKET_PATH = before;
    }
  });

  it("maps the seed's client settings onto the connection", () => {
    const opts: BaaahtClientOptions = {
      address: `unix://${h.socketPath}`,
      dialTimeoutMs: 1234,
      timeoutMs: 999,
      maxSendMessageBytes: 100,
      maxReceiveMessageBytes: 200,
      reconnectIntervalMs: 50,
      maxReconnectAttempts: 3,
    };
    const c = new BaaahtClient(opts);
    expect(c.connection.options.dialTimeoutMs).toBe(1234);
    expect(c.connection.options.timeoutMs).toBe(999);
    expect(c.connection.options.maxSendMessageBytes).toBe(100);
    expect(c.connection.options.maxReceiveMessageBytes).toBe(200);
    c.close();
  });

  it("refuses messages over maxSendMessageBytes on the client", async () => {
    const c = h.client("unix", { maxSendMessageBytes: 64 });
    const { handle } = await h.unix.sessions.create({ metadata: { name: "big" } });
    await expect(c.sessions.handle(handle.id).send("x".repeat(500))).rejects.toThrow();
  });
});

describe.each(["unix", "tcp"] as const)("sessions over %s", (transport) => {
  const client = () => (transport === "unix" ? h.unix : h.tcp);

  it("creates, gets, updates and closes a session", async () => {
    const { handle, session } = await client().sessions.create({
      metadata: { name: `s-${transport}`, ownerId: "user-123", labels: { team: "a" } },
      config: { maxContainers: 10, idleTimeoutNs: 3_600_000_000_000n },
    });
    expect(session.state).toBe(SessionState.ACTIVE);
    expect(session.expiresAt).toBeDefined();
    const got = await client().sessions.get(handle.id);
    expect(got.metadata?.name).toBe(`s-${transport}`);
    const updated = await handle.update({ metadata: { name: "renamed", ownerId: "user-123", labels: { team: "b" } } });
    expect(updated.metadata?.name).toBe("renamed");
    expect(await handle.close("User logged out")).toBe(SessionState.CLOSED);
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
    await b.handle.close();
    const mine = await h.unix.sessions.list({ ownerId: owner });
    expect(mine.map((s) => s.id).sort()).toEqual([a.handle.id, b.handle.id].sort());
    const active = await h.unix.sessions.list({ ownerId: owner, state: "ACTIVE" });
    expect(active.map((s) => s.id)).toEqual([a.handle.id]);
    const closed = await h.unix.sessions.list({ ownerId: owner, state: SessionState.CLOSED });
    expect(closed.map((s) => s.id)).toEqual([b.handle.id]);
    const dev = await h.unix.sessions.list({ ownerId: owner, labels: { env: "dev" } });
    expect(dev.map((s) => s.id)).toEqual([a.handle.id]);
  });
});

describe("expiry", () => {
  it("closes a session after its idle timeout, and activity pushes it back", async () => {
    // A 1200 ms idle timeout. The message at ~600 ms pushes the deadline to ~1800 ms, so at
    // ~1400 ms the session is past its first deadline but not its second (400 ms to spare).
    const { handle } = await h.unix.sessions.create({ config: { idleTimeoutNs: 1_200_000_000n } });
    await new Promise((r) => setTimeout(r, 600));
    await handle.send("still here");
    await new Promise((r) => setTimeout(r, 800));
    expect((await handle.get()).state).toBe(SessionState.ACTIVE);
    await until(async () => (await handle.get()).state === SessionState.CLOSED, 3000);
  });

  it("closes a session after its max duration despite activity", async () => {
    const { handle } = await h.unix.sessions.create({ config: { maxDurationNs: 250_000_000n } });
    const events = h.unix.events.subscribe({ sessionId: handle.id, type: "SESSION_CLOSED", since: 0 });
    for (let i = 0; i < 3; i++) {
      await handle.send(`ping ${i}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const [closed] = await take(events, 1, 3000);
    expect(closed?.data.reason).toBe("max duration exceeded");
    expect((await handle.get()).state).toBe(SessionState.CLOSED);
  });
});

describe("messages", () => {
  it("SendMessage and StreamMessages agree: every open stream gets every message, history keeps them", async () => {
    const { handle } = await h.unix.sessions.create({ metadata: { name: "chat" } });
    const s1 = handle.stream();
    const s2 = h.tcp.sessions.handle(handle.id).stream();
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
    const { handle } = await h.unix.sessions.create();
    const s = handle.stream();
    await s.ready;
    const items = take(s, 1, 3000);
    // Several heartbeat periods (25 ms each way) pass before the message.
    await new Promise((r) => setTimeout(r, 200));
    await handle.send("after the quiet");
    const [first] = await items;
    expect(first?.kind === "message" && first.message.content).toBe("after the quiet");
  });

  it("half-close ends the stream after its own messages came back", async () => {
    const { handle } = await h.unix.sessions.create();
    const s = handle.stream();
    await s.send("one");
    await s.send("two");
    s.end();
    const all: string[] = [];
    for await (const item of s) if (item.kind === "message") all.push(item.message.content);
    expect(all).toEqual(["one", "two"]);
  });

  it("the client can cancel (break) and the session stays usable", async () => {
    const { handle } = await h.unix.sessions.create();
    const s = handle.stream();
    await s.ready;
    void handle.send("x");
    for await (const _ of s) break;
    await expect(s.send("after cancel")).rejects.toThrow();
    await handle.send("still fine");
    expect((await handle.get()).context?.messages.length).toBe(2);
  });

  it("the server ends open streams when the session closes", async () => {
    const { handle } = await h.unix.sessions.create();
    const s = handle.stream();
    await s.ready;
    const seen: SessionStreamItem[] = [];
    const done = (async () => {
      for await (const item of s) seen.push(item);
    })();
    await handle.close("bye");
    await done;
    const last = seen.at(-1);
    expect(last?.kind === "event" && last.event.type).toBe(EventType.SESSION_CLOSED);
  });

  it("refuses a stream on an unknown session", async () => {
    const s = h.unix.sessions.handle("missing").stream();
    await expect(s.ready).rejects.toBeInstanceOf(NotFoundError);
  });
});
