// StreamEvents' reads as a follower sees them, driven on the service itself: a stream that
// stops pulling stays where it was, so retention can pass it by (over a socket the server
// keeps writing, and a slow follower cannot be made to fall behind on cue).
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { EnvelopeSchema } from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { OrcaService } from "./service.js";
import { MemoryOrcaStore } from "./store.js";

/** The context a stream handler reads: its request headers and signal. */
function context(signal = new AbortController().signal): HandlerContext {
  return { requestHeader: new Headers(), signal } as unknown as HandlerContext;
}

let n = 0;
const task = () => create(EnvelopeSchema, { id: `t${++n}`, kind: "agent_task", payloadJson: "{}", protocolVersion: 1 });

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("StreamEvents followers", () => {
  it("a follower that retention passed by ends with OUT_OF_RANGE naming the oldest kept id", async () => {
    const orca = new OrcaService(new MemoryOrcaStore({ maxEventsPerRun: 3 }));
    await orca.startRun({ workflowId: "w" } as never);
    const stream = orca.streamEvents({ runId: "w", startEventId: 0n, sinceTsMs: 0n, maxEvents: 0 } as never, context());
    expect((await stream.next()).value?.event?.id).toBe("1");
    // The follower holds event 1 and waits for 2; five more land, and 2..3 are dropped.
    const waiting = stream.next();
    await orca.submitTask({ runId: "w", task: task() } as never);
    expect((await waiting).value?.event?.id).toBe("2");
    for (let i = 0; i < 5; i++) await orca.submitTask({ runId: "w", task: task() } as never);
    const err = await refusal(stream.next());
    expect(err.code).toBe(Code.OutOfRange);
    expect(err.findDetails(ErrorInfoSchema)[0]).toMatchObject({
      reason: "EVENTS_EVICTED",
      metadata: { oldest_event_id: "5", requested_event_id: "3" },
    });
    expect(orca.streams).toEqual({ open: 0, waiting: 0 });
  });

  it("a follower of a run evicted by orca.maxRuns ends with NOT_FOUND", async () => {
    const orca = new OrcaService(new MemoryOrcaStore({ maxRuns: 1 }), { maxRuns: 1 });
    await orca.startRun({ workflowId: "old" } as never);
    const stream = orca.streamEvents(
      { runId: "old", startEventId: 2n, sinceTsMs: 0n, maxEvents: 0 } as never,
      context(),
    );
    const waiting = stream.next();
    await Promise.resolve();
    expect(orca.streams.open).toBe(1);
    await orca.startRun({ workflowId: "new" } as never);
    expect((await refusal(waiting)).code).toBe(Code.NotFound);
    expect(orca.streams).toEqual({ open: 0, waiting: 0 });
  });

  it("a follower ends quietly when its signal aborts, and the read it was asleep on is let go", async () => {
    const orca = new OrcaService(new MemoryOrcaStore());
    await orca.startRun({ workflowId: "w" } as never);
    const ac = new AbortController();
    const stream = orca.streamEvents(
      { runId: "w", startEventId: 2n, sinceTsMs: 0n, maxEvents: 0 } as never,
      context(ac.signal),
    );
    const waiting = stream.next();
    for (let i = 0; i < 10 && orca.streams.waiting === 0; i++) await new Promise((r) => setImmediate(r));
    expect(orca.streams.waiting).toBe(1);
    ac.abort();
    expect((await waiting).done).toBe(true);
    expect(orca.streams).toEqual({ open: 0, waiting: 0 });
  });
});
