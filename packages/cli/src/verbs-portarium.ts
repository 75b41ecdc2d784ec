import type { ListOptions, MachineInvocationInput, PortariumClient } from "@baton/portarium";
import { UsageError } from "./exit-codes.js";
import { columns, type FlagSpecs, type FlagValues, type Verb, type VerbContext } from "./spec.js";

const LIST_FLAGS: FlagSpecs = {
  limit: { type: "string", value: "N", description: "items per page (1-200; every page is fetched)" },
  max: { type: "string", value: "N", description: "print at most N items" },
};

/** The list options and the most items to print of a list verb's flags. */
function listOptions(flags: FlagValues, signal: AbortSignal): { options: ListOptions; max: number } {
  const limit = flags.int("limit", 200);
  const max = flags.int("max");
  return { options: { signal, ...(limit !== undefined ? { limit } : {}) }, max: max ?? Number.POSITIVE_INFINITY };
}

/** A list verb of one Portarium resource. */
function listVerb(
  words: string[],
  summary: string,
  cols: string[],
  list: (p: PortariumClient, options: ListOptions) => { toArray(max?: number): Promise<unknown[]> },
): Verb<"portarium"> {
  return {
    system: "portarium",
    words,
    summary,
    flags: LIST_FLAGS,
    columns: columns(...cols),
    async run(portarium, { flags, out, signal }) {
      const { options, max } = listOptions(flags, signal);
      out.list(await list(portarium, options).toArray(max));
    },
  };
}

/** Follows an invocation's events on the progress line until `done` settles (only when the display shows). */
async function showInvocationProgress(
  portarium: PortariumClient,
  machineId: string,
  invocationId: string,
  ctx: VerbContext,
  done: Promise<unknown>,
): Promise<void> {
  if (!ctx.progress.enabled) return;
  const stop = new AbortController();
  void done.finally(() => stop.abort()).catch(() => {});
  const signal = AbortSignal.any([stop.signal, ctx.signal]);
  ctx.progress.update(`invocation ${invocationId}: accepted`);
  try {
    for await (const e of portarium.machines.streamInvocation(machineId, invocationId, { signal })) {
      const ratio = e.progressRatio === undefined ? "" : ` ${Math.round(e.progressRatio * 100)}%`;
      ctx.progress.update(`invocation ${invocationId}: ${e.status}${e.step ? ` (${e.step})` : ""}${ratio}`);
    }
  } catch {
    // The display is best effort: the wait itself reports what went wrong.
  }
}

/** The `baton portarium ...` verbs. */
export const PORTARIUM_VERBS: Verb<"portarium">[] = [
  listVerb(
    ["workflows", "list"],
    "list workflows",
    ["ID=workflowId", "NAME=name", "TIER=executionTier", "VERSION=version", "ACTIVE=active"],
    (p, o) => p.workflows.list(o),
  ),
  {
    system: "portarium",
    words: ["workflows", "create"],
    summary: "create a workflow from --json (CreateWorkflowRequest) and print it",
    flags: {
      name: { type: "string", value: "N", description: "its name" },
      tier: { type: "string", value: "T", description: "execution tier: Auto, Assisted, HumanApprove, ManualOnly" },
      json: {
        type: "string",
        value: "JSON",
        description: "the CreateWorkflowRequest ({name, executionTier, actions})",
      },
    },
    async run(portarium, ctx) {
      const body = await ctx.body();
      const name = ctx.flags.string("name");
      const tier = ctx.flags.string("tier");
      const request = {
        actions: [],
        ...body,
        ...(name !== undefined ? { name } : {}),
        ...(tier !== undefined ? { executionTier: tier } : {}),
      } as Parameters<PortariumClient["workflows"]["create"]>[0];
      ctx.out.one(await portarium.workflows.create(request, { signal: ctx.signal }));
    },
  },
  listVerb(
    ["runs", "list"],
    "list runs, oldest first",
    ["ID=runId", "WORKFLOW=workflowId", "STATUS=status", "CREATED=createdAtIso"],
    (p, o) => p.runs.list(o),
  ),
  {
    system: "portarium",
    words: ["runs", "get"],
    summary: "print a run",
    args: [{ name: "runId", description: "the run" }],
    async run(portarium, { args, out, signal }) {
      out.one(await portarium.runs.get(args.runId ?? "", { signal }));
    },
  },
  {
    system: "portarium",
    words: ["runs", "start"],
    summary: "start a run of a workflow and print it",
    args: [{ name: "workflowId", description: "the workflow" }],
    flags: {
      parameters: { type: "string", value: "JSON", description: "the run's input object: JSON text, @file or -" },
      json: { type: "string", value: "JSON", description: "the StartRunRequest ({parameters}); flags win" },
    },
    async run(portarium, ctx) {
      const body = await ctx.body();
      const parameters = await ctx.jsonFlag("parameters");
      if (
        parameters !== undefined &&
        (parameters === null || typeof parameters !== "object" || Array.isArray(parameters))
      )
        throw new UsageError("--parameters must be a JSON object");
      const request = {
        ...body,
        workflowId: ctx.args.workflowId ?? "",
        ...(parameters !== undefined ? { parameters: parameters as Record<string, unknown> } : {}),
      };
      ctx.out.one(await portarium.runs.start(request, { signal: ctx.signal }));
    },
  },
  listVerb(
    ["approvals", "list"],
    "list approvals",
    ["ID=approvalId", "RUN=runId", "STATUS=status", "PROMPT=prompt", "REQUESTED=requestedAtIso"],
    (p, o) => p.approvals.list(o),
  ),
  listVerb(
    ["machines", "list"],
    "list machines",
    ["ID=machineId", "HOSTNAME=hostname", "STATUS=status", "REGISTERED=registeredAtIso"],
    (p, o) => p.machines.list(o),
  ),
  {
    system: "portarium",
    words: ["machines", "register"],
    summary: "register a machine and print it",
    flags: {
      hostname: { type: "string", value: "H", description: "its hostname" },
      json: {
        type: "string",
        value: "JSON",
        description: "the RegisterMachineRequest ({hostname, osImage}); flags win",
      },
    },
    async run(portarium, ctx) {
      const hostname = ctx.flags.string("hostname");
      const request = { ...(await ctx.body()), ...(hostname !== undefined ? { hostname } : {}) } as Parameters<
        PortariumClient["machines"]["register"]
      >[0];
      ctx.out.one(await portarium.machines.register(request, { signal: ctx.signal }));
    },
  },
  {
    system: "portarium",
    words: ["machines", "invoke"],
    summary: "invoke an action on a machine; --wait waits for its final state",
    description:
      "Prints the accepted invocation, or with --wait its final state (completed or failed), showing its\n" +
      "progress on a terminal. With --wait, --timeout-ms bounds the whole wait (exit 6 when it passes).",
    args: [{ name: "machineId", description: "the machine" }],
    flags: {
      action: { type: "string", value: "A", description: "the action" },
      "invocation-id": { type: "string", value: "ID", description: "the invocation's id (default: a new UUID)" },
      wait: { type: "boolean", description: "wait until the invocation completes or fails" },
      json: {
        type: "string",
        value: "JSON",
        description: "the invocation request ({action, parameters...}); flags win",
      },
    },
    async run(portarium, ctx) {
      const { flags, args, signal } = ctx;
      const action = flags.string("action");
      const invocationId = flags.string("invocation-id");
      const request = {
        ...(await ctx.body()),
        ...(action !== undefined ? { action } : {}),
        ...(invocationId !== undefined ? { invocationId } : {}),
      } as MachineInvocationInput;
      const machineId = args.machineId ?? "";
      const accepted = await portarium.machines.invoke(machineId, request, { signal });
      if (!flags.bool("wait")) {
        ctx.out.one(accepted);
        return;
      }
      const timeoutMs = flags.int("timeout-ms");
      const done = portarium.machines.waitForInvocation(machineId, accepted.invocationId, {
        signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      const shown = showInvocationProgress(portarium, machineId, accepted.invocationId, ctx, done);
      let final: Awaited<typeof done>;
      try {
        final = await done;
      } finally {
        await shown;
        ctx.progress.stop();
      }
      ctx.out.one(final);
    },
  },
];
