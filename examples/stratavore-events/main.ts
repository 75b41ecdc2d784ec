/**
 * The Stratavore seed's runner monitor, with @baton/stratavore: follow a project's
 * RUNNER_STARTED, RUNNER_STOPPED and RUNNER_FAILED events while one runner is stopped and
 * another's process dies, which the daemon's Reconcile turns into RUNNER_FAILED.
 *
 * It needs a daemon whose runners are local processes that print their pid (baton-server
 * with `--set stratavore.runtime=process --set 'stratavore.command=echo "runner process $$
 * started"; exec sleep 300'`), because it kills one of them itself. Against such a daemon:
 * STRATAVORE_ADDR=host:port [STRATAVORE_TOKEN=jwt with role stratavore:admin]. Without
 * STRATAVORE_ADDR it starts an embedded baton-server configured so.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type BatonServer, startServer } from "@baton/server";
import { AlreadyExistsError, EventType, RunnerStatus, StratavoreClient, type StratavoreEvent } from "@baton/stratavore";

let embedded: BatonServer | undefined;
let address = process.env.STRATAVORE_ADDR;
if (!address) {
  embedded = await startServer({
    listen: ["127.0.0.1:0"],
    settings: {
      "stratavore.runtime": "process",
      "stratavore.command": 'echo "runner process $$ started"; exec sleep 300',
    },
  });
  address = embedded.addresses[0] as string;
  console.log(`started an embedded baton-server on ${address}`);
}
const sv = new StratavoreClient({
  address,
  timeoutMs: 10_000,
  ...(process.env.STRATAVORE_TOKEN ? { token: process.env.STRATAVORE_TOKEN } : {}),
});

/** Prints each event as the seed's monitorRunners does, until `last` says stop. */
async function monitorRunners(projectName: string, last: (e: StratavoreEvent) => boolean, signal: AbortSignal) {
  const stream = sv.runners.events({
    projectName,
    types: [EventType.RUNNER_STARTED, EventType.RUNNER_STOPPED, EventType.RUNNER_FAILED],
    // From the project's first retained event: nothing is missed while the stream opens.
    fromStart: true,
    signal,
  });
  for await (const event of stream) {
    switch (event.type) {
      case EventType.RUNNER_STARTED:
        console.log(`[monitor] Runner started: ${event.runnerId}`);
        break;
      case EventType.RUNNER_STOPPED:
        console.log(`[monitor] Runner stopped: ${event.runnerId}`);
        break;
      case EventType.RUNNER_FAILED: {
        const p = event.payload;
        const why = p?.$typeName === "stratavore.v1.RunnerFailure" ? ` (${p.reason}, signal ${p.signal})` : "";
        console.log(`[monitor] Runner failed: ${event.runnerId}${why}`);
        break;
      }
    }
    if (last(event)) return;
  }
}

/** The pid a runner printed as its first transcript line ("runner process <pid> started"). */
async function pidOf(runnerId: string): Promise<number> {
  for await (const _ of sv.runners.events({ runnerId, types: [EventType.TRANSCRIPT_APPENDED], fromStart: true })) {
    const { session } = await sv.runners.get(runnerId, { includeSession: true });
    const transcript = await sv.sessions.transcript(session?.id ?? "");
    const m = /runner process (\d+) started/.exec(transcript.messages[0]?.content ?? "");
    if (m) return Number(m[1]);
  }
  throw new Error(`runner ${runnerId} printed no pid`);
}

const stop = new AbortController();
try {
  const projectName = "my-project";
  await sv.projects.create({ name: projectName, path: process.cwd() }).catch((err: unknown) => {
    if (!(err instanceof AlreadyExistsError)) throw err;
  });

  let failedRunner = "";
  const monitor = monitorRunners(
    projectName,
    (e) => e.type === EventType.RUNNER_FAILED && e.runnerId === failedRunner,
    stop.signal,
  );
  // Awaited below; this only keeps an early failure elsewhere from leaving it unhandled.
  monitor.catch(() => {});

  // One runner runs and is stopped.
  const a = await sv.runners.create({ projectName, model: "claude-3-sonnet" });
  await a.handle.waitFor(RunnerStatus.RUNNING);
  await a.handle.stop({ reason: "done for today" });
  console.log(`stopped ${a.runner.id}`);

  // Another runner's process dies under it: the daemon notices when it reconciles.
  const b = await sv.runners.create({ projectName, model: "claude-3-haiku" });
  failedRunner = b.runner.id;
  await b.handle.waitFor(RunnerStatus.RUNNING);
  const pid = await pidOf(b.runner.id);
  process.kill(pid, "SIGKILL");
  console.log(`killed process ${pid} of runner ${b.runner.id}`);
  // The daemon learns of the death a moment later; each Reconcile checks again (bounded).
  for (let attempt = 1; attempt <= 100; attempt++) {
    const r = await sv.daemon.reconcile({ projectName });
    if (r.actions.length > 0) {
      for (const act of r.actions)
        console.log(
          `reconcile: ${act.runnerId} ${RunnerStatus[act.previousStatus]} -> ${RunnerStatus[act.status]} (${act.reason}); ${r.runnersChecked} runner(s) checked`,
        );
      break;
    }
    if (attempt === 100) throw new Error("reconcile never saw the killed process");
    await sleep(50);
  }

  await monitor;
  console.log(`runner ${b.runner.id} is now ${RunnerStatus[(await b.handle.get()).status]}`);
} finally {
  stop.abort();
  await sv.close();
  await embedded?.close();
}
