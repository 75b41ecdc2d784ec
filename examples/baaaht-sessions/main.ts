/**
 * The baaaht seed's "Session Management" walkthrough with @baton/baaaht: create a session
 * with limits, get it, list by state and owner, update it, close it.
 *
 * Dials the seed's socket: unix:///tmp/baaaht-grpc.sock, or $GRPC_SOCKET_PATH.
 */
import { BaaahtClient } from "@baton/baaaht";
import { SessionState } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
console.log(`dialing ${baaaht.connection.options.address}`);

const handle = await baaaht.sessions.create({
  metadata: { name: "my-session", description: "Example session", ownerId: "user-123" },
  config: {
    maxContainers: 10,
    idleTimeoutNs: 3_600_000_000_000n, // 1 hour
    resourceLimits: { nanoCpus: 1_000_000_000n, memoryBytes: 1024n * 1024n * 1024n },
  },
});
const session = await handle.get();
console.log(`created session ${handle.id}: ${SessionState[session.state]}, expires ${session.expiresAt?.seconds}`);

const got = await baaaht.sessions.get(handle.id);
console.log(`got session ${got.id}: name=${got.metadata?.name} owner=${got.metadata?.ownerId}`);

// A list is awaitable (one page) and iterable (every item).
const { items: active } = await baaaht.sessions.list({ state: "ACTIVE", ownerId: "user-123" });
console.log(`active sessions of user-123: ${active.map((s) => s.id).join(", ")}`);

const updated = await handle.update({
  metadata: { name: "my-session", description: "renamed", ownerId: "user-123", labels: { stage: "demo" } },
});
console.log(`updated: description=${updated.metadata?.description} labels=${JSON.stringify(updated.metadata?.labels)}`);

const state = await handle.close({ reason: "User logged out" });
console.log(`closed session ${handle.id}: ${SessionState[state]}`);
let closed = 0;
for await (const _ of baaaht.sessions.list({ state: "CLOSED", ownerId: "user-123" })) closed++;
console.log(`closed sessions of user-123: ${closed}`);
await baaaht.close();
