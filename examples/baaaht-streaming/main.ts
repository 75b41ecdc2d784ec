/**
 * The baaaht seed's "Message Handling" walkthrough: send a message, then open a
 * bidirectional stream, send messages on it and receive every message and event of the
 * session until the server ends the stream.
 */
import { BaaahtClient } from "@baton/baaaht";
import { EventType, MessageRole } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
const handle = await baaaht.sessions.create({ metadata: { name: "chat" } });
console.log(`session ${handle.id}`);

const sent = await handle.send("Hello, orchestrator!");
console.log(`SendMessage -> message ${sent.messageId}`);

const stream = handle.stream();
const messages = ["first streamed message", "second streamed message"];
// Send, then half-close: the server ends the stream once our messages came back.
const sender = (async () => {
  await stream.ready;
  for (const m of messages) await stream.send({ role: MessageRole.USER, content: m });
  stream.end();
})();
for await (const item of stream) {
  if (item.kind === "message") console.log(`Message: [${MessageRole[item.message.role]}] ${item.message.content}`);
  else console.log(`Event: ${EventType[item.event.type]}`);
}
await sender;
const history = (await handle.get()).context?.messages ?? [];
console.log(`history holds ${history.length} messages: ${history.map((m) => JSON.stringify(m.content)).join(", ")}`);
await handle.close();
await baaaht.close();
