/**
 * The baaaht seed's "Container Operations" walkthrough: create a container in a session,
 * get it, list it, stop it with a timeout, remove it. baton-server has no container
 * engine: this example runs it with `--container-runtime process`, so the container's
 * command runs as a local process; the default `record` runtime only records the lifecycle.
 */
import { tmpdir } from "node:os";
import { BaaahtClient, PermissionDeniedError } from "@baton/baaaht";
import { ContainerState, EventType } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
const session = await baaaht.sessions.create({
  metadata: { name: "containers" },
  config: { maxContainers: 2, allowedImages: ["python:3.11", "busybox"] },
});
const events = baaaht.events.subscribe({ sessionId: session.id, source: "container-runtime", since: 0 });

const c = await baaaht.containers.create(session.id, {
  image: "busybox",
  command: ["sh", "-c"],
  args: ['echo "hello from $WHO"; sleep 30'],
  workingDir: tmpdir(),
  env: { WHO: "a baaaht container" },
  resources: { nanoCpus: 500_000_000n, memoryBytes: 512n * 1024n * 1024n },
});
const created = await c.get();
console.log(`created container ${c.id} (${created.image}): ${ContainerState[created.state]}`);
const running = await baaaht.containers.list({ sessionId: session.id, state: "RUNNING" }).toArray();
console.log(`running in session: ${running.map((x) => x.id).join(", ")}`);

try {
  await baaaht.containers.create(session.id, { image: "ubuntu:24.04" });
} catch (err) {
  if (err instanceof PermissionDeniedError) console.log(`refused ubuntu:24.04: ${err.message}`);
  else throw err;
}

const state = await c.stop({ timeoutMs: 2000 });
const stopped = await c.get();
console.log(`stopped: ${ContainerState[state]}, exit code ${stopped.exitCode}`);
await c.remove();
console.log(`removed ${c.id}`);

let n = 0;
for await (const ev of events) {
  console.log(`event: ${EventType[ev.type]} ${JSON.stringify(ev.data)}`);
  if (++n === 4) break;
}
await session.close();
await baaaht.close();
