import type { AgentHandle, ChatItem, ChatRequest } from "@baton/baaaht";
import { type GatewayEvent, GatewayEventType, GatewaySessionState, StreamState } from "@baton/baaaht/wire";
import { FailedPreconditionError, NotFoundError } from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followed, type Harness, rejectsWith, startHarness, take } from "./helpers.js";
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

const chunks = (items: ChatItem[]) => items.flatMap((i) => (i.kind === "chunk" ? [i.chunk] : []));

describe("gateway", () => {
  it("creates, gets, lists and closes gateway sessions", async () => {
    const s = await h.unix.gateway.create({
      metadata: { name: "web-session", clientType: "web", clientVersion: "1.0.0", userId: "user-gw" },
      config: { enableStreaming: true, streamConfig: { chunkSize: 1024n, enableDelta: true } },
    });
    expect(s.state).toBe(GatewaySessionState.ACTIVE);
    expect(s.orchestratorSessionId).not.toBe("");
    expect((await h.tcp.gateway.get(s.id)).metadata?.clientType).toBe("web");
    expect((await h.unix.gateway.list({ userId: "user-gw" })).map((x) => x.id)).toEqual([s.id]);
    expect(await h.unix.gateway.close(s.id, "bye")).toBe(GatewaySessionState.CLOSED);
    expect(await h.unix.gateway.list({ userId: "user-gw", state: "ACTIVE" })).toEqual([]);
    await rejectsWith(h.unix.gateway.send(s.id, "late"), FailedPreconditionError);
    await rejectsWith(h.unix.gateway.get("gw-missing"), NotFoundError);
  });

  it("StreamChat: the message goes to the session's agent, chunks come back in order ending in is_final", async () => {
    const s = await h.unix.gateway.create({ metadata: { userId: "u" } });
    const agent = await chatAgent(s.id, async (chat) => {
      const words = `you said: ${chat.content}`.split(" ");
      for (const [i, w] of words.entries()) await chat.reply(i === 0 ? w : ` ${w}`, { final: i === words.length - 1 });
    });
    const chat = h.tcp.gateway.chat(s.id);
    const id = await chat.send("Hello!");
    chat.end();
    const items: ChatItem[] = [];
    for await (const item of chat) items.push(item);
    const got = chunks(items);
    expect(got.map((c) => c.sequence)).toEqual([0, 1, 2]);
    expect(got.map((c) => c.text).join("")).toBe("you said: Hello!");
    expect(got.map((c) => c.isFinal)).toEqual([false, false, true]);
    expect(got.every((c) => c.isDelta && c.metadata?.extra.message_id === id)).toBe(true);
    const statuses = items.flatMap((i) => (i.kind === "status" ? [i.status.state] : []));
    expect(statuses).toEqual([StreamState.ACTIVE, StreamState.COMPLETE]);
    // The conversation lands in the orchestrator session's history.
    const orch = await h.unix.sessions.get(s.orchestratorSessionId);
    expect(orch.context?.messages.map((m) => m.content)).toEqual(["Hello!", "you said: Hello!"]);
    // The reply can be replayed with StreamResponses.
    const replay = [];
    for await (const item of h.unix.gateway.responses(s.id, id)) replay.push(item);
    expect(chunks(replay).map((c) => c.text)).toEqual(got.map((c) => c.text));
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
    const chat = h.unix.gateway.chat(s.id);
    await chat.send("long question");
    const items: ChatItem[] = [];
    for await (const item of chat) {
      items.push(item);
      if (item.kind === "chunk") await chat.cancelReply("changed my mind");
      if (item.kind === "status" && item.status.state === StreamState.CANCELLED) break;
    }
    expect(chunks(items).map((c) => c.text)).toEqual(["thinking..."]);
    const deadline = Date.now() + 2000;
    while (!agentSawCancel && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(agentSawCancel).toBe(true);
    await agent.unregister();
  });

  it("the server ends chats when the gateway session closes, and the client can cancel its side", async () => {
    const s = await h.unix.gateway.create();
    const chat = h.unix.gateway.chat(s.id);
    await chat.ready;
    const done = (async () => {
      const items: ChatItem[] = [];
      for await (const item of chat) items.push(item);
      return items;
    })();
    await h.unix.gateway.close(s.id);
    const items = await done;
    expect(items.at(-1)?.kind === "status" && items.at(-1)).toBeTruthy();
    const s2 = await h.unix.gateway.create();
    const c2 = h.unix.gateway.chat(s2.id);
    await c2.ready;
    c2.cancel();
    await expect(c2.send("after cancel")).rejects.toThrow();
    expect((await h.unix.gateway.get(s2.id)).state).toBe(GatewaySessionState.ACTIVE);
  });

  it("without an agent the reply fails with an ERROR status", async () => {
    const s = await h.unix.gateway.create();
    const id = await h.unix.gateway.send(s.id, "anyone?");
    const items = [];
    for await (const item of h.unix.gateway.responses(s.id, id)) items.push(item);
    expect(items.at(-1)?.kind === "status" && items.at(-1)?.kind === "status").toBe(true);
    const last = items.at(-1);
    expect(last?.kind === "status" && last.status.state).toBe(StreamState.ERROR);
  });

  it("SubscribeToEvents replays and follows a session's gateway events", async () => {
    const t0 = Date.now();
    const s = await h.unix.gateway.create();
    await h.unix.gateway.send(s.id, "x");
    const evs = await take(h.unix.gateway.events(s.id, { since: t0 }), 3);
    expect(evs.map((e) => e.type)).toEqual([
      GatewayEventType.SESSION_CREATED,
      GatewayEventType.MESSAGE_RECEIVED,
      GatewayEventType.STREAM_ERROR,
    ]);
    let live: Promise<GatewayEvent[]> = Promise.resolve([]);
    await followed(baaahtModule(h.server).state.gatewayEvents, () => {
      live = take(h.unix.gateway.events(s.id, { type: "SESSION_CLOSED" }), 1);
    });
    await h.unix.gateway.close(s.id);
    expect((await live)[0]?.metadata?.sessionId).toBe(s.id);
  });
});
