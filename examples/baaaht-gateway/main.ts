/**
 * The baaaht seed's "Gateway Communication" walkthrough: create a gateway session, chat
 * over StreamChat and receive the reply as ordered chunks ending in is_final. The reply
 * comes from an agent serving the session (registered here with the `chat` capability).
 */
import { BaaahtClient } from "@baton/baaaht";
import { StreamState } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
const session = await baaaht.gateway.create({
  metadata: { name: "web-session", clientType: "web", clientVersion: "1.0.0", userId: "user-123" },
  config: { enableStreaming: true, streamConfig: { chunkSize: 1024n, enableDelta: true } },
});
console.log(`gateway session ${session.id} (orchestrator session ${(await session.get()).orchestratorSessionId})`);

const agent = await baaaht.agents.register({
  name: "assistant",
  capabilities: { supportedTasks: ["chat"] },
  metadata: { labels: { "baaaht.gateway-session": session.id } },
});
void (async () => {
  for await (const item of agent) {
    if (item.kind !== "chat") continue;
    const words = `Hi! You said: ${item.chat.content}`.split(" ");
    for (const [i, w] of words.entries()) await item.chat.reply(i ? ` ${w}` : w, { final: i === words.length - 1 });
  }
})();

const chat = session.chat();
await chat.send("Hello!");
chat.end();
let reply = "";
for await (const item of chat) {
  if (item.kind === "chunk") {
    reply += item.chunk.text;
    console.log(
      `Chunk ${item.chunk.sequence}: ${JSON.stringify(item.chunk.text)}${item.chunk.isFinal ? " (final)" : ""}`,
    );
  } else if (item.kind === "status") {
    console.log(`Status: ${StreamState[item.status.state]} ${item.status.message}`);
  }
}
console.log(`reply: ${reply}`);
await session.close({ reason: "done" });
await agent.unregister();
await baaaht.close();
