// A chat stream over the Unix socket whose connection drops: the client's stream fails,
// the server stops following the session for it, and the session serves a new stream.
import { Connection } from "@baton/core";
import { OrchestratorService, type StreamMessageRequestSchema } from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BaaahtHarness, startBaaaht } from "./baaaht-support.js";

let h: BaaahtHarness;
beforeAll(async () => {
  h = await startBaaaht();
});
afterAll(() => h.close());

type Request = MessageInitShape<typeof StreamMessageRequestSchema>;

/** Requests the test pushes into an open bidi stream; `end` half-closes it. */
function requests() {
  const queue: Request[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(r: Request) {
      queue.push(r);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

/** Waits for the server to reach a state it gets to on its own (a socket closing), polling. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe("StreamMessages over a Unix socket", () => {
  it("a dropped connection fails the client's stream and releases the server's follower", async () => {
    const connection = new Connection({ address: `unix://${h.socketPath}` });
    const reconnected = new Connection({ address: `unix://${h.socketPath}` });
    const orchestrator = createClient(OrchestratorService, connection.transport);
    try {
      const { sessionId } = await h.orchestrator.createSession({});
      const feed = h.module.state.sessionFeed(sessionId);
      const reqs = requests();
      reqs.push({ sessionId, payload: { case: "message", value: { content: "hi" } } });
      const stream = orchestrator.streamMessages(reqs)[Symbol.asyncIterator]();
      const echoed = await stream.next();
      expect(echoed.value?.payload).toMatchObject({ case: "message", value: { content: "hi" } });
      expect(feed.followers).toBe(1);

      h.server.dropConnections();
      await expect(
        (async () => {
          for (let r = await stream.next(); !r.done; r = await stream.next());
        })(),
      ).rejects.toMatchObject({ code: Code.Canceled, rawMessage: expect.stringMatching(/^http\/2 stream closed/) });
      await until(() => feed.followers === 0);

      // The session lives on: a new stream on a new connection sees what is sent after.
      const again = createClient(OrchestratorService, reconnected.transport);
      const more = requests();
      more.push({ sessionId, payload: { case: "heartbeat", value: {} } });
      const second = again.streamMessages(more)[Symbol.asyncIterator]();
      await until(() => feed.followers === 1);
      await h.orchestrator.sendMessage({ sessionId, message: { content: "after the drop" } });
      let got = await second.next();
      while (got.value?.payload.case === "heartbeat") got = await second.next();
      expect(got.value?.payload).toMatchObject({ case: "message", value: { content: "after the drop" } });
      more.end();
      await h.orchestrator.closeSession({ sessionId, reason: "done" });
      for (let r = await second.next(); !r.done; r = await second.next());
      await until(() => feed.followers === 0);
    } finally {
      await connection.close();
      await reconnected.close();
    }
  });
});
