import type { Event } from "@baton/baaaht/wire";
import { CreateSessionRequestSchema, EventType, Priority } from "@baton/baaaht/wire";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followed, type Harness, startHarness, take } from "./helpers.js";
import { baaahtModule } from "./server-shim.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("events", () => {
  it("replays from start_time, then streams live, applying the whole filter", async () => {
    const t0 = Date.now();
    const handle = await h.unix.sessions.create({ metadata: { name: "ev", labels: { app: "x" } } });
    const c = await h.unix.containers.create(handle.id, { image: "a", labels: { tier: "web" } });
    // Replay: the session's events so far.
    const replay = await take(h.unix.events.subscribe({ sessionId: handle.id, since: t0 }), 3);
    expect(replay.map((e) => e.type)).toEqual([
      EventType.SESSION_CREATED,
      EventType.CONTAINER_CREATED,
      EventType.CONTAINER_STARTED,
    ]);
    // Type + container filter, live.
    const live = h.tcp.events.subscribe({ type: "CONTAINER_STOPPED", sessionId: handle.id });
    let next: Promise<Event[]> = Promise.resolve([]);
    await followed(baaahtModule(h.server).state.events, () => {
      next = take(live, 1);
    });
    expect((await h.unix.containers.list({ sessionId: handle.id })).items.map((x) => x.id)).toEqual([c.id]);
    await c.stop();
    const [stopped] = await next;
    expect(stopped?.type).toBe(EventType.CONTAINER_STOPPED);
    expect(stopped?.metadata?.containerId).toBe(c.id);
    // Labels, source and priority filters.
    const byLabel = await take(h.unix.events.subscribe({ labels: { tier: "web" }, since: t0 }), 3);
    expect(byLabel.map((e) => [e.type, e.metadata?.containerId])).toEqual([
      [EventType.CONTAINER_CREATED, c.id],
      [EventType.CONTAINER_STARTED, c.id],
      [EventType.CONTAINER_STOPPED, c.id],
    ]);
    const bySource = await take(
      h.unix.events.subscribe({ source: "orchestrator", sessionId: handle.id, since: t0 }),
      1,
    );
    expect(bySource[0]?.type).toBe(EventType.SESSION_CREATED);
    const none = h.unix.events.subscribe({ priority: Priority.CRITICAL, since: t0, until: Date.now() + 100 });
    const got: Event[] = [];
    for await (const e of none) got.push(e);
    expect(got).toEqual([]);
  });

  it("ends at end_time", async () => {
    const t0 = Date.now();
    const session = await h.unix.sessions.create();
    const got: Event[] = [];
    for await (const e of h.unix.events.subscribe({ sessionId: session.id, since: t0, until: Date.now() + 150 })) {
      got.push(e);
    }
    // The loop ended by itself, with the session's one event.
    expect(got.map((e) => e.type)).toEqual([EventType.SESSION_CREATED]);
  });

  it("survives dropped connections without loss or duplicates", async () => {
    const owner = `drop-${Date.now()}`;
    const sub = h.client("unix").events.subscribe({ type: "SESSION_CREATED" });
    const it = sub[Symbol.asyncIterator]();
    const ids: string[] = [];
    const received: string[] = [];
    let reader: Promise<void> = Promise.resolve();
    await followed(baaahtModule(h.server).state.events, () => {
      reader = (async () => {
        while (received.length < 12) {
          const r = await it.next();
          if (r.done) break;
          if (r.value.metadata?.userId === owner) received.push(r.value.metadata.sessionId);
        }
      })();
    });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) {
        // Created server-side: the subscriber is what is under test, not the creator's calls.
        const res = baaahtModule(h.server).orchestrator.createSession(
          create(CreateSessionRequestSchema, { metadata: { ownerId: owner } }),
        );
        ids.push(res.sessionId);
      }
      // Drop every connection (the subscriber's included) between rounds.
      h.server.dropConnections();
    }
    const timeout = setTimeout(() => void it.return?.(), 8000);
    await reader;
    clearTimeout(timeout);
    await it.return?.();
    expect(received).toEqual(ids);
  });
});
