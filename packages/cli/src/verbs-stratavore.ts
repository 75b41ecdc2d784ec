import { ProjectStatus, RunnerStatus } from "@baton/stratavore";
import { ProjectSchema, RunnerSchema } from "@baton/stratavore/wire";
import { toJson } from "@bufbuild/protobuf";
import { UsageError } from "./exit-codes.js";
import { columns, type Verb } from "./spec.js";

/**
 * An enum flag by name (`RUNNING`, case-insensitive, with or without the `RUNNER_STATUS_`
 * prefix), or `undefined` when not given.
 *
 * @throws {UsageError} naming the allowed values.
 */
export function enumFlag<E extends Record<string, string | number>>(
  e: E,
  prefix: string,
  value: string | undefined,
  flag: string,
): E[keyof E] | undefined {
  if (value === undefined) return undefined;
  const name = value.toUpperCase().replace(new RegExp(`^${prefix}`), "");
  const n = e[name];
  if (typeof n !== "number" || n === 0) {
    const names = Object.keys(e).filter((k) => Number.isNaN(Number(k)) && e[k] !== 0);
    throw new UsageError(`--${flag} must be one of ${names.join(", ")}, got ${value}`);
  }
  return n as E[keyof E];
}

/** The `baton stratavore ...` verbs. */
export const STRATAVORE_VERBS: Verb<"stratavore">[] = [
  {
    system: "stratavore",
    words: ["runners", "list"],
    summary: "list runners",
    flags: {
      project: { type: "string", value: "NAME", description: "only runners of this project" },
      status: { type: "string", value: "S", description: "only runners in this status (RUNNING, PAUSED...)" },
      metadata: {
        type: "string",
        value: "K=V",
        multiple: true,
        description: "only runners with this metadata (repeatable)",
      },
      max: { type: "string", value: "N", description: "print at most N runners" },
    },
    columns: columns("ID=id", "PROJECT=projectName", "STATUS=status", "MODEL=model", "SESSION=sessionId"),
    async run(sv, { flags, out, signal }) {
      const project = flags.string("project");
      const status = enumFlag(RunnerStatus, "RUNNER_STATUS_", flags.string("status"), "status");
      const metadataFilter = flags.pairs("metadata");
      const runners = await sv.runners
        .list(
          {
            ...(project !== undefined ? { projectName: project } : {}),
            ...(status !== undefined ? { status } : {}),
            ...(metadataFilter ? { metadataFilter } : {}),
          },
          { signal },
        )
        .toArray(flags.int("max"));
      out.list(runners.map((r) => toJson(RunnerSchema, r)));
    },
  },
  {
    system: "stratavore",
    words: ["projects", "list"],
    summary: "list projects",
    flags: {
      status: { type: "string", value: "S", description: "only projects in this status (ACTIVE, ARCHIVED...)" },
    },
    columns: columns("NAME=name", "PATH=path", "STATUS=status"),
    async run(sv, { flags, out, signal }) {
      const status = enumFlag(ProjectStatus, "PROJECT_STATUS_", flags.string("status"), "status");
      const projects = await sv.projects.list({ ...(status !== undefined ? { status } : {}) }, { signal }).toArray();
      out.list(projects.map((p) => toJson(ProjectSchema, p)));
    },
  },
];
