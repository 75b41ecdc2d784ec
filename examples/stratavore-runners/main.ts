/**
 * The Stratavore seed's CreateRunner example, with @baton/stratavore: a project with a
 * quota, a runner with metadata through its lifecycle, a list filtered by metadata, and
 * the quota refusing one runner too many.
 *
 * Against your own daemon: STRATAVORE_ADDR=host:port [STRATAVORE_TOKEN=jwt]
 * [STRATAVORE_CA=ca.crt STRATAVORE_CERT=client.crt STRATAVORE_KEY=client.key].
 * Without STRATAVORE_ADDR it starts an embedded baton-server on a free local port.
 */
import { readFileSync } from "node:fs";
import { type BatonServer, startServer } from "@baton/server";
import { AlreadyExistsError, BudgetExceededError, RunnerStatus, StratavoreClient } from "@baton/stratavore";

let embedded: BatonServer | undefined;
let address = process.env.STRATAVORE_ADDR;
if (!address) {
  embedded = await startServer({ listen: ["127.0.0.1:0"] });
  address = embedded.addresses[0] as string;
  console.log(`started an embedded baton-server on ${address}`);
}
const env = process.env;
const sv = new StratavoreClient({
  address,
  timeoutMs: 10_000,
  ...(env.STRATAVORE_TOKEN ? { token: env.STRATAVORE_TOKEN } : {}),
  ...(env.STRATAVORE_CA
    ? {
        tls: {
          ca: readFileSync(env.STRATAVORE_CA),
          ...(env.STRATAVORE_CERT && env.STRATAVORE_KEY
            ? { cert: readFileSync(env.STRATAVORE_CERT), key: readFileSync(env.STRATAVORE_KEY) }
            : {}),
        },
      }
    : {}),
});

try {
  // A project with room for two runners at a time.
  const projectName = "my-project";
  try {
    const { project, warnings } = await sv.projects.create({
      name: projectName,
      description: "the seed's example project",
      path: process.cwd(),
      quota: { maxConcurrentRunners: 2 },
    });
    console.log(`created project ${project.name} (quota: ${project.quota?.maxConcurrentRunners} concurrent runners)`);
    for (const w of warnings) console.log(`  warning: ${w}`);
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    console.log(`project ${projectName} exists already`);
  }

  // The seed's CreateRunnerRequest, field for field.
  const { runner, handle } = await sv.runners.create({
    projectName,
    model: "claude-3-sonnet",
    temperature: 0.7,
    maxTokens: 4096,
    metadata: { environment: "development", user: "john.doe" },
  });
  console.log(`Created runner: ${runner.id} (${RunnerStatus[runner.status]})`);

  const running = await handle.waitFor(RunnerStatus.RUNNING);
  console.log(`runner ${running.id} is ${RunnerStatus[running.status]}`);
  const details = await sv.runners.get(runner.id, { includeMetrics: true, includeSession: true });
  const { runner: r, metrics, session } = details;
  console.log(`  model ${r.model}, temperature ${r.temperature}, max_tokens ${r.maxTokens}`);
  console.log(`  metadata ${JSON.stringify(r.metadata)}, session ${session?.id}`);
  console.log(
    `  metrics: ${metrics?.messageCount} messages, ${metrics?.tokensUsed} tokens, ${metrics?.restartCount} restarts`,
  );

  const second = await sv.runners.create({ projectName, model: "claude-3-haiku", metadata: { user: "jane.roe" } });
  console.log(`Created runner: ${second.runner.id} (${second.runner.model})`);
  try {
    await sv.runners.create({ projectName, model: "claude-3-opus" });
    console.log("a third runner was accepted (the quota did not hold!)");
    process.exitCode = 1;
  } catch (err) {
    if (!(err instanceof BudgetExceededError)) throw err;
    console.log(`a third runner was refused: ${err.name} on ${err.limit} (${err.message})`);
  }

  console.log(`runners of john.doe in ${projectName}:`);
  for await (const r of sv.runners.list({ projectName, metadataFilter: { user: "john.doe" } }))
    console.log(`  ${r.id} ${RunnerStatus[r.status]} ${JSON.stringify(r.metadata)}`);

  for (const id of [runner.id, second.runner.id]) {
    const stopped = await sv.runners.stop(id, { reason: "example done" });
    console.log(`stopped runner ${stopped.id}: ${RunnerStatus[stopped.status]} (${stopped.statusReason})`);
  }
  const stats = (await sv.projects.get(projectName, { includeStats: true })).statistics;
  console.log(`project statistics: ${stats?.activeRunners} active of ${stats?.totalRunners} runners`);
} finally {
  await sv.close();
  await embedded?.close();
}
