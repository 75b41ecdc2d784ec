// baton-server's request size limit as the ORCA client sees it. How the limit is configured
// (options, --max-message-bytes) is tested in packages/server/test/limits.test.ts.
import { BudgetExceededError, OrcaClient, OutOfRangeError, ResourceExhaustedError } from "@baton/orca";
import { type BatonServer, DEFAULT_MAX_RECEIVE_MESSAGE_BYTES, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: BatonServer;
let small: BatonServer;
const clients: OrcaClient[] = [];
const client = (s: BatonServer, protocol: "grpc" | "connect" | "grpc-web" = "grpc") => {
  const c = new OrcaClient({ address: s.addresses[0] as string, protocol, retry: false });
  clients.push(c);
  return c;
};
beforeAll(async () => {
  [server, small] = await Promise.all([
    startServer({ listen: ["127.0.0.1:0"] }),
    startServer({ listen: ["127.0.0.1:0"], maxReceiveMessageBytes: 2048 }),
  ]);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([server?.close(), small?.close()]);
});

/** A JSON payload whose encoding is about `bytes` long. */
const payloadOf = (bytes: number) => ({ blob: "x".repeat(bytes) });

describe("request message size limit", () => {
  it("refuses a message over 4 MiB by default with RESOURCE_EXHAUSTED (not a budget error), and keeps serving", async () => {
    const orca = client(server);
    const run = await orca.runs.start({ workflowId: "limits" });
    const err = await run.submit({ id: "big", payload: payloadOf(DEFAULT_MAX_RECEIVE_MESSAGE_BYTES + 1) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err).not.toBeInstanceOf(BudgetExceededError);
    expect((err as Error).message).toMatch(/max|limit|size|bytes/i);
    // Nothing of the refused message was stored, and the server still answers.
    await run.submit({ id: "small", payload: payloadOf(1000) });
    const kinds: string[] = [];
    for await (const ev of run.events({ follow: false })) kinds.push(`${ev.kind}:${ev.parentId}`);
    expect(kinds).not.toContain("task_enqueued:big");
    expect(kinds).toContain("task_enqueued:small");
  });

  it("accepts a message just under the limit", async () => {
    const run = await client(server).runs.start({ workflowId: "limits-under" });
    await expect(run.submit({ payload: payloadOf(DEFAULT_MAX_RECEIVE_MESSAGE_BYTES - 4096) })).resolves.toMatchObject({
      accepted: true,
    });
  });

  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    it(`applies a configured limit over ${protocol}`, async () => {
      const orca = client(small, protocol);
      const run = await orca.runs.start({ workflowId: `limits-${protocol}` });
      const refused = await run.submit({ payload: payloadOf(4096) }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ResourceExhaustedError);
      // An oversized message is not a budget refusal: the budget stays unexceeded.
      expect(refused).not.toBeInstanceOf(BudgetExceededError);
      expect(run.budget.exceeded).toBeUndefined();
      await expect(run.submit({ payload: payloadOf(100) })).resolves.toMatchObject({ accepted: true });
    });
  }
});

describe("event retention (orca.maxEventsPerRun)", () => {
  it("replays what is kept from the start, and fails with OutOfRangeError (no reconnect loop) from an evicted id", async () => {
    const kept = await startServer({ listen: ["127.0.0.1:0"], settings: { "orca.maxEventsPerRun": "3" } });
    try {
      const orca = client(kept);
      const run = await orca.runs.start({ workflowId: "retention" });
      for (let i = 0; i < 5; i++) await run.submit({ id: `t${i}` });
      const ids: number[] = [];
      for await (const ev of run.events({ follow: false })) ids.push(ev.id);
      expect(ids).toEqual([4, 5, 6]);
      const err = await (async () => {
        for await (const _ of run.events({ from: 2, follow: false })) {
          /* drain */
        }
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutOfRangeError);
      expect((err as OutOfRangeError).errorInfo).toMatchObject({
        reason: "EVENTS_EVICTED",
        metadata: { oldest_event_id: "4", requested_event_id: "2" },
      });
    } finally {
      await kept.close();
    }
  });
});
