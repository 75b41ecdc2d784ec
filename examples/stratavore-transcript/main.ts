/**
 * The Stratavore seed's session transcript example, with @baton/stratavore: a runner whose
 * process prints a conversation, its transcript read back as the seed prints it, the
 * server's Markdown rendering (the client renders the same), and a stopped runner's session
 * continued by a new runner.
 *
 * baton-server runs no model: with `--set stratavore.runtime=process --set
 * stratavore.command='node agent.mjs'` each runner is that command, run in the project's
 * path (this directory), and every line it prints becomes a transcript message.
 * Against such a daemon: STRATAVORE_ADDR=host:port [STRATAVORE_TOKEN=jwt]. Without
 * STRATAVORE_ADDR it starts an embedded baton-server configured so.
 */
import { fileURLToPath } from "node:url";
import { type BatonServer, startServer } from "@baton/server";
import { AlreadyExistsError, EventType, RunnerStatus, StratavoreClient } from "@baton/stratavore";
import type { TranscriptMessage } from "@baton/stratavore/wire";

let embedded: BatonServer | undefined;
let address = process.env.STRATAVORE_ADDR;
if (!address) {
  embedded = await startServer({
    listen: ["127.0.0.1:0"],
    settings: { "stratavore.runtime": "process", "stratavore.command": "node agent.mjs" },
  });
  address = embedded.addresses[0] as string;
  console.log(`started an embedded baton-server on ${address}`);
}
const sv = new StratavoreClient({
  address,
  timeoutMs: 10_000,
  ...(process.env.STRATAVORE_TOKEN ? { token: process.env.STRATAVORE_TOKEN } : {}),
});

/** Follows a runner's TRANSCRIPT_APPENDED events until its process marks a message final. */
async function untilFinal(runnerId: string, sessionId: string): Promise<void> {
  const appended = sv.runners.events({ runnerId, types: [EventType.TRANSCRIPT_APPENDED], fromStart: true });
  for await (const _ of appended) {
    const { messages } = await sv.sessions.transcript(sessionId, { includeMetadata: true });
    if (messages.at(-1)?.metadata.final === "true") return;
  }
}

/** The seed's streamSessionTranscript: `[2006-01-02 15:04:05] role: content`. */
function print(messages: TranscriptMessage[]): void {
  for (const msg of messages) {
    const ts = msg.timestamp;
    const at = ts ? new Date(Number(ts.seconds) * 1000).toISOString().slice(0, 19).replace("T", " ") : "-";
    console.log(`[${at}] ${msg.role}: ${msg.content}`);
  }
}

try {
  const projectName = "transcripts";
  await sv.projects
    .create({ name: projectName, path: fileURLToPath(new URL(".", import.meta.url)) })
    .catch((err: unknown) => {
      if (!(err instanceof AlreadyExistsError)) throw err;
    });

  const { runner, handle } = await sv.runners.create({ projectName, model: "claude-3-sonnet" });
  await handle.waitFor(RunnerStatus.RUNNING);
  const sessionId = runner.sessionId;
  console.log(`runner ${runner.id} writes session ${sessionId}`);
  await untilFinal(runner.id, sessionId);

  const json = await sv.sessions.transcript(sessionId, { format: "json" });
  console.log(`transcript of ${json.sessionId}: ${json.messages.length} messages, ${json.totalTokens} tokens`);
  print(json.messages);

  await handle.stop({ reason: "first pass done" });
  const { runner: next } = await sv.sessions.resume(sessionId);
  console.log(`runner ${runner.id} stopped; runner ${next.id} resumes session ${next.sessionId}`);
  await untilFinal(next.id, sessionId);
  await sv.runners.stop(next.id, { reason: "second pass done" });

  const md = await sv.sessions.transcript(sessionId, { format: "markdown", includeMetadata: true });
  console.log("\nthe server's Markdown:\n");
  console.log(md.rendered);
  console.log(`rendered here the same: ${md.render("markdown") === md.rendered}`);
  const session = await sv.sessions.get(sessionId);
  console.log(`session ${session.id}: ${session.tokenCount} tokens over ${md.metadata?.runnerIds.length} runners`);
} finally {
  await sv.close();
  await embedded?.close();
}
