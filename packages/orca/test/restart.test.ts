// A run's event stream after a graceful restart: the server comes back on the same address
// with the same store (state kept), and the follower resumes after the last event it saw:
// every event once, in order.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OrcaClient, type RunEvent } from "@baton/orca";
import { type BatonServer, MemoryOrcaStore, orcaModule, startServer } from "@baton/server";
import { afterEach, describe, expect, it } from "vitest";

let dir: string | undefined;
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("after a graceful restart", () => {
  it("a run's followed events resume on the new server after the last one seen, with no loss or duplicates", async () => {
    dir = mkdtempSync(join(tmpdir(), "orca-restart-"));
    const address = `unix://${join(dir, "orca.sock")}`;
    const store = new MemoryOrcaStore();
    const serve = async (): Promise<BatonServer> => {
      const server = await startServer({ listen: [address], modules: [orcaModule({ store })], shutdownTimeoutMs: 0 });
      open.push(server);
      return server;
    };
    const first = await serve();
    const orca = new OrcaClient({ address });
    open.push(orca);
    const run = await orca.runs.start({ workflowId: "restart" });
    const events = run.events()[Symbol.asyncIterator]();
    const got: RunEvent[] = [];
    const next = async () => {
      const r = await events.next();
      if (!r.done) got.push(r.value);
    };
    await next();
    await run.submit({ id: "before" });
    await next();
    const resumed = next();
    await first.close();
    open.splice(open.indexOf(first), 1);
    await serve();
    await run.submit({ id: "after-1" });
    await resumed;
    await run.submit({ id: "after-2" });
    await next();
    expect(got.map((e) => [e.id, e.kind, e.parentId])).toEqual([
      [1, "start_run", ""],
      [2, "task_enqueued", "before"],
      [3, "task_enqueued", "after-1"],
      [4, "task_enqueued", "after-2"],
    ]);
    await events.return?.();
  });
});
