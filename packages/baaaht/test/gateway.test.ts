import type { AgentHandle, ChatItem, ChatRequest } from "@baton/baaaht";
import { type GatewayEvent, GatewayEventType, GatewaySessionState, StreamState } from "@baton/baaaht/wire";
import { CanceledError, FailedPreconditionError, NotFoundError } from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect as all, followed, type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";
import { dropStreamOnce } from "./interceptors.js";
import { baaahtModule } from "./server-shim.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Registers a chat agent bound to one gateway session, answering with `answer(chat)`. */
async function chatAgent(sessionId: string, answer: (chat: ChatRequest) => Promise<void>): Promise<AgentHandle> {
  const agent = await h.unix.agents.register({
    name: `chat-${sessionId}`,
    type: "WORKER",
    metadata: { labels: { "baaaht.gateway-session": sessionId } },
    capabilities: { supportedTasks: ["chat"] },
  });
  void (async () => {
    for await (const item of agent) if (item.kind === "chat") void answer(item.chat);
  })();
  return agent;
}

/** Answers "you said: <content>" word by word, the last chunk final. */
async function echoWords(chat: ChatRequest): Promise<void> {
  const words = `you said: ${chat.content}`.split(" ");
  for (const [i, w] of words.entries()) await chat.reply(i === 0 ? w : ` ${w}`, { final: i === words.length - 1 });
}

const chunks = (items: ChatItem[]) => items.flatMap((i) => (i.kind === "chunk" ? [i.chunk] : []));
const statuses = (items: ChatItem[]) => items.flatMap((i) => (i.kind === "status" ? [i.status.state] : []));

describe("gateway", () => {
  it("creates, gets, lists and closes gateway sessions", async () => {
    const s = await h.unix.gateway.create({
      metadata: { name: "web-session", clientType: "web", clientVersion: "1.0.0", userId: "user-gw" },
      config: { enableStreaming: true, streamConfig: { chunkSize: 1024n, enableDelta: true } },
    });
    const created = await s.get();
    expect(created.id).toBe(s.id);
    expect(created.state).toBe(GatewaySessionState.ACTIVE);
    expect(created.orchestratorSessionId).not.toBe("");
    expect((await h.tcp.gateway.get(s.id)).metadata?.clientType).toBe("web");
    expect((await h.unix.gateway.list({ userId: "user-gw" }).toArray()).map((x) => x.id)).toEqual([s.id]);
    expect(await h.unix.gateway.close(s.id, { reason: "bye" })).toBe(GatewaySessionState.CLOSED);
    expect((await h.unix.gateway.list({ userId: "user-gw", state: "ACTIVE" })).items).toEqual([]);
    await rejectsWith(s.send("late"), FailedPreconditionError);
    await rejectsWith(h.unix.gateway.get("gw-missing"), NotFoundError);
  });

  it("StreamChat: the message goes to the session's agent, chunks come back in order ending in is_final", async () => {
    const s = await h.unix.gateway.create({ metadata: { userId: "u" } });
    const agent = await chatAgent(s.id, echoWords);
    const chat = h.tcp.gateway.getHandle(s.id).chat();
    const id = await chat.send("Hello!");
    chat.end();
    const items = await all(chat);
    const got = chunks(items);
    expect(got.map((c) => c.sequence)).toEqual([0, 1, 2]);
    expect(got.map((c) => c.text).join("")).toBe("you said: Hello!");
    expect(got.map((c) => c.isFinal)).toEqual([false, false, true]);
    expect(got.map((c) => [c.isDelta, c.metadata?.extra.message_id])).toEqual([
      [true, id],
      [true, id],
      [true, id],
    ]);
    expect(statuses(items)).toEqual([StreamState.ACTIVE, StreamState.COMPLETE]);
    // The conversation lands in the orchestrator session's history.
    const orch = await h.unix.sessions.get((await s.get()).orchestratorSessionId);
    expect(orch.context?.messages.map((m) => m.content)).toEqual(["Hello!", "you said: Hello!"]);
    // The reply can be replayed with StreamResponses...
    const replay = await all(s.responses(id));
    expect(chunks(replay).map((c) => c.text)).toEqual(got.map((c) => c.text));
    // ...also through a dropped connection, without loss or duplicates.
    const drop = dropStreamOnce("StreamResponses", 2);
    const c = h.client("unix", { interceptors: [drop.interceptor] });
    const resumed = await all(c.gateway.getHandle(s.id).responses(id));
    expect(drop.drops()).toBe(1);
    expect(resumed).toEqual(replay);
    await agent.unregister();
  });

  it("the user can cancel a reply; the agent is told", async () => {
    const s = await h.unix.gateway.create();
    let agentSawCancel = false;
    const agent = await chatAgent(s.id, async (chat) => {
      await chat.reply("thinking...");
      await new Promise<void>((resolve) => chat.signal.addEventListener("abort", () => resolve(), { once: true }));
      agentSawCancel = true;
    });
    const chat = s.chat();
    await chat.send("long question");
    const items: ChatItem[] = [];
    for await (const item of chat) {
      items.push(item);
      if (item.kind === "chunk") await chat.cancelReply({ reason: "changed my mind" });
      if (item.kind === "status" && item.status.state === StreamState.CANCELLED) break;
    }
    expect(chunks(items).map((c) => c.text)).toEqual(["thinking..."]);
    expect(statuses(items).at(-1)).toBe(StreamState.CANCELLED);
    await until(() => agentSawCancel, 2000);
    await agent.unregister();
  });

  it("the server ends chats when the gateway session closes, and the client can cancel its side", async () => {
    const s = await h.unix.gateway.create();
    const chat = s.chat();
    await chat.ready;
    const done = all(chat);
    await s.close();
    const items = await done;
    const last = items.at(-1);
    expect(last?.kind).toBe("status");
    const s2 = await h.unix.gateway.create();
    const c2 = s2.chat();
    await c2.ready;
    c2.cancel();
    await rejectsWith(c2.send("after cancel"), CanceledError);
    expect((await s2.get()).state).toBe(GatewaySessionState.ACTIVE);
  });

  it("without an agent the reply fails with an ERROR status", async () => {
    const s = await h.unix.gateway.create();
    const id = await s.send("anyone?");
    const items = await all(s.responses(id));
    expect(items.map((i) => i.kind)).toEqual(["status"]);
    expect(statuses(items)).toEqual([StreamState.ERROR]);
    await rejectsWith(all(s.responses("no-such-message")), NotFoundError);
  });

  it("SubscribeToEvents replays and follows a session's gateway events", async () => {
    const t0 = Date.now();
    const s = await h.unix.gateway.create();
    await s.send("x");
    const evs = await take(s.events({ since: t0 }), 3);
    expect(evs.map((e) => e.type)).toEqual([
      GatewayEventType.SESSION_CREATED,
      GatewayEventType.MESSAGE_RECEIVED,
      GatewayEventType.STREAM_ERROR,
    ]);
    // The same events through the resource, filtered by session.
    const viaResource = await take(h.unix.gateway.events({ sessionId: s.id, since: t0 }), 3);
    expect(viaResource.map((e) => e.id)).toEqual(evs.map((e) => e.id));
    let live: Promise<GatewayEvent[]> = Promise.resolve([]);
    await followed(baaahtModule(h.server).state.gatewayEvents, () => {
      live = take(s.events({ type: "SESSION_CLOSED" }), 1);
    });
    await s.close();
    const [closed] = await live;
    expect(closed?.type).toBe(GatewayEventType.SESSION_CLOSED);
    expect(closed?.metadata?.sessionId).toBe(s.id);
  });
});
