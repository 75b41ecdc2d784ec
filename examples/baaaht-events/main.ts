/**
 * The baaaht seed's "Event Subscription" walkthrough: subscribe to CONTAINER_CREATED events
 * of one session, and to everything of that session from its start (replay, then live).
 * The subscription resumes from the last event's time after a dropped connection.
 */
import { BaaahtClient } from "@baton/baaaht";
import { type Event, EventType } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
const t0 = new Date();
const session = await baaaht.sessions.create({ metadata: { name: "events" } });

// Follows from the moment subscribe() is called (however late the stream is opened).
const created = baaaht.events.subscribe({ type: "CONTAINER_CREATED", sessionId: session.id });
const c = await baaaht.containers.create(session.id, { image: "python:3.11" });
let ev: Event | undefined;
for await (const e of created) {
  ev = e;
  break;
}
console.log(`Event: ${ev ? EventType[ev.type] : "none"} - ${ev?.source} (container ${ev?.metadata?.containerId})`);

await c.stop();
await session.close({ reason: "done" });
let n = 0;
for await (const e of baaaht.events.subscribe({ sessionId: session.id, since: t0, until: Date.now() + 200 })) {
  console.log(
    `replayed ${++n}: ${EventType[e.type]} at ${new Date(Number(e.timestamp?.seconds) * 1000).toISOString()}`,
  );
}
await baaaht.close();
