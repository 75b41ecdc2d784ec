/**
 * The baaaht seed's "Event Subscription" walkthrough: subscribe to CONTAINER_CREATED events
 * of one session, and to everything of that session from its start (replay, then live).
 * The subscription resumes from the last event's time after a dropped connection.
 */
import { BaaahtClient } from "@baton/baaaht";
import { EventType } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
const t0 = new Date();
const { handle } = await baaaht.sessions.create({ metadata: { name: "events" } });

const created = baaaht.events.subscribe({ type: "CONTAINER_CREATED", sessionId: handle.id });
const first = (async () => {
  for await (const ev of created) return ev;
  return undefined;
})();
await new Promise((r) => setTimeout(r, 100));
const c = await baaaht.containers.create(handle.id, { image: "python:3.11" });
const ev = await first;
console.log(`Event: ${ev ? EventType[ev.type] : "none"} - ${ev?.source} (container ${ev?.metadata?.containerId})`);

await baaaht.containers.stop(c.id);
await handle.close("done");
let n = 0;
for await (const e of baaaht.events.subscribe({ sessionId: handle.id, since: t0, until: Date.now() + 200 })) {
  console.log(
    `replayed ${++n}: ${EventType[e.type]} at ${new Date(Number(e.timestamp?.seconds) * 1000).toISOString()}`,
  );
}
baaaht.close();
