import { OrcaClient, type RunEvent } from "@baton/orca";
import { type BatonServer, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: BatonServer;
let orca: OrcaClient;

beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"] });
  orca = new OrcaClient({ address: server.addresses[0] as string });
});
afterAll(async () => {
  await orca.close();
  await server.close();
});

async function take(it: AsyncIterable<RunEvent>, n: number): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const ev of it) {
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}

describe("StreamEvents fan-out (one response per event, shared by its streams)", () => {
  it("gives every following stream and a later replay the same events, payloads parsed once intact", async () => {
    const run = await orca.runs.start({ workflowId: `fanout-${process.pid}` });
    const payloads = [{ a: 1 }, { nested: { list: [1, "two", null] } }, "text", 42];
    // start_run + one task_enqueued per task.
    const want = 1 + payloads.length;
    const followers = Array.from({ length: 5 }, () => take(run.events(), want));
    for (const payload of payloads) await run.submit({ payload });
    const seen = await Promise.all(followers);
    const replay = await take(run.events({ follow: false }), want);
    for (const events of [...seen, replay]) {
      expect(events.map((e) => [e.id, e.kind])).toEqual(replay.map((e) => [e.id, e.kind]));
      expect(events.map((e) => e.payload)).toEqual(replay.map((e) => e.payload));
    }
    expect(replay.slice(1).map((e) => (e.payload as { payload: unknown }).payload)).toEqual(payloads);
  });
});
