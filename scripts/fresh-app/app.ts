// The fresh app's program (scripts/fresh-app.mjs copies it into a temp app that installed
// the packed tarballs): one real call through each client against the baton-server the
// app installed, whose address is in $BATON_ADDR. Compiled with strict TypeScript,
// moduleResolution nodenext and no skipLibCheck before it runs.
import { BaaahtClient } from "@baton/baaaht";
import { NotFoundError } from "@baton/core/errors";
import { EdgemeshClient } from "@baton/edgemesh";
import { OrcaClient } from "@baton/orca";
import { Orchestrator } from "@baton/orca/wire";
import { PortariumClient } from "@baton/portarium";
import { openapiDocument } from "@baton/portarium/schema";
import { StratavoreClient } from "@baton/stratavore";
import { TranscriptFormat } from "@baton/wire/stratavore";

const address = process.env.BATON_ADDR;
if (!address) throw new Error("BATON_ADDR is not set");
const checks: string[] = [];
const check = (what: string, ok: boolean) => {
  if (!ok) throw new Error(`fresh app: ${what} failed`);
  checks.push(what);
};

{
  await using orca = new OrcaClient({ address, timeoutMs: 10_000 });
  const run = await orca.runs.start({ workflowId: `wf-fresh-${process.pid}`, budget: { maxTokens: 100 } });
  await run.submit({ payload: { n: 1 }, usage: { tokens: 10 } });
  const events = [];
  for await (const ev of run.events({ max: 1 })) events.push(ev);
  check("orca: start, submit, events", run.id.startsWith("wf-fresh-") && events.length === 1);
  check("orca/wire: descriptor", Orchestrator.typeName === "orca.v1.Orchestrator");
  let notFound = false;
  try {
    await orca.runs.getHandle("wf-nope").result("no-task");
  } catch (err) {
    notFound = err instanceof NotFoundError;
  }
  check("errors: NotFoundError from @baton/core/errors", notFound);
}
{
  await using baaaht = new BaaahtClient({ address, timeoutMs: 10_000 });
  const session = await baaaht.sessions.create({ metadata: { name: "fresh", ownerId: "fresh-app" } });
  const listed = await baaaht.sessions.list({ ownerId: "fresh-app" }).toArray();
  check(
    "baaaht: sessions create and list",
    listed.some((s) => s.id === session.id),
  );
}
{
  await using portarium = new PortariumClient({
    address: `http://${address}`,
    clientCredentials: { clientId: "fresh", clientSecret: "fresh-secret" },
    workspaceId: "ws-fresh",
    timeoutMs: 10_000,
  });
  const machine = await portarium.machines.register({ hostname: "fresh-app" });
  const machines = await portarium.machines.list().toArray();
  check(
    "portarium: machines register and list",
    machines.some((m) => m.machineId === machine.machineId),
  );
  check("portarium/schema: document", typeof openapiDocument === "object");
}
{
  await using sv = new StratavoreClient({ address, timeoutMs: 10_000 });
  await sv.projects.create({ name: "fresh", path: "/tmp/fresh" });
  const projects = await sv.projects.list().toArray();
  check(
    "stratavore: projects create and list",
    projects.some((p) => p.name === "fresh"),
  );
  check("wire/stratavore: enum", typeof TranscriptFormat.MARKDOWN === "number");
}
{
  await using mesh = new EdgemeshClient({ address, timeoutMs: 10_000 });
  await mesh.connect({ deviceName: "fresh-app", securityKey: "dev-key" });
  const devices = await mesh.devices.list().toArray();
  check("edgemesh: connect and devices", devices.length >= 1);
}
console.log(`fresh app: ${checks.length} checks passed\n  ${checks.join("\n  ")}`);
