// Stratavore's runners, sessions and transcripts are bounded: ended runners and idle
// sessions are forgotten oldest first past their setting, a full map of active ones refuses
// with RESOURCE_EXHAUSTED, and a transcript keeps its newest messages. Over a real socket.
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { ProjectService, RunnerService, SessionService } from "@baton/wire/stratavore";
import { type Client, Code, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type RpcHarness, refusal, startRpc } from "./rpc-support.js";

let h: RpcHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(settings: Record<string, string>) {
  h = await startRpc(settings);
  const c = {
    projects: createClient(ProjectService, h.connection.transport),
    runners: createClient(RunnerService, h.connection.transport),
    sessions: createClient(SessionService, h.connection.transport),
  };
  await c.projects.createProject({ name: "p" });
  return c;
}
const launch = async (c: { runners: Client<typeof RunnerService> }) =>
  (await c.runners.createRunner({ projectName: "p" })).runner?.id as string;

const expectFull = async (p: Promise<unknown>) => {
  const err = await refusal(p);
  expect(err.code).toBe(Code.ResourceExhausted);
  expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RETENTION_FULL");
};

describe("stratavore retention", () => {
  it("keeps stratavore.maxRunners runners: the oldest ended go first, all active refuses", async () => {
    const c = await start({ "stratavore.maxRunners": "2" });
    const a = await launch(c);
    const b = await launch(c);
    await expectFull(c.runners.createRunner({ projectName: "p" }));
    await c.runners.stopRunner({ runnerId: a, force: true });
    const d = await launch(c);
    expect((await c.runners.listRunners({})).runners.map((r) => r.id).sort()).toEqual([b, d].sort());
    expect((await refusal(c.runners.getRunner({ runnerId: a }))).code).toBe(Code.NotFound);
  });

  it("keeps stratavore.maxSessions sessions: idle ones go first, all in use refuses", async () => {
    const c = await start({ "stratavore.maxSessions": "2" });
    const a = await launch(c);
    const sessionA = (await c.runners.getRunner({ runnerId: a })).runner?.sessionId as string;
    await launch(c);
    await expectFull(c.runners.createRunner({ projectName: "p" }));
    await c.runners.stopRunner({ runnerId: a, force: true });
    await launch(c);
    expect((await refusal(c.sessions.getSession({ sessionId: sessionA }))).code).toBe(Code.NotFound);
    expect((await c.sessions.listSessions({})).sessions.length).toBe(2);
  });

  it("keeps the newest stratavore.maxTranscriptMessages messages of a transcript", async () => {
    const c = await start({ "stratavore.maxTranscriptMessages": "3" });
    const runnerId = await launch(c);
    const messages = Array.from({ length: 5 }, (_, i) => ({ role: "user", content: `m${i}`, tokens: 1n }));
    const session = (await c.sessions.createSession({ runnerId, messages })).session;
    const t = await c.sessions.getSessionTranscript({ sessionId: session?.id as string });
    expect(t.messages.map((m) => m.content)).toEqual(["m2", "m3", "m4"]);
    // The session's token count still counts every message.
    expect(t.totalTokens).toBe(5n);
  });
});
