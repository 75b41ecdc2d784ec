import { EXIT } from "./exit-codes.js";
import type { AnyVerb, FlagSpecs, SystemName } from "./spec.js";
import { GLOBAL_FLAGS, SYSTEMS } from "./systems.js";
import { VERBS, verbName, verbsOf } from "./verbs.js";

/** What each exit code means, for `baton --help` (the same table as the README's). */
export const EXIT_CODE_HELP: ReadonlyArray<[number, string]> = [
  [EXIT.ok, "ok"],
  [EXIT.other, "any other error (internal, protocol)"],
  [EXIT.usage, "usage error: unknown verb or flag, missing argument, unreadable --json"],
  [EXIT.notFound, "not found"],
  [EXIT.auth, "unauthenticated or permission denied"],
  [EXIT.invalidArgument, "invalid argument (or out of range)"],
  [EXIT.unavailable, "unavailable or deadline exceeded (server down, --timeout-ms passed)"],
  [EXIT.budgetExceeded, "budget or quota exceeded"],
  [EXIT.conflict, "conflict: already exists, aborted or failed precondition"],
  [EXIT.interrupted, "interrupted (SIGINT, SIGTERM)"],
];

function twoColumns(rows: Array<[string, string]>, indent = 2): string {
  const w = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `${" ".repeat(indent)}${l.padEnd(w)}  ${r}`.trimEnd()).join("\n");
}

function flagRows(flags: FlagSpecs): Array<[string, string]> {
  return Object.entries(flags).map(([name, f]) => {
    const short = f.short ? `-${f.short}, ` : "";
    const value = f.type === "string" ? ` ${f.value ?? "VALUE"}` : "";
    return [`${short}--${name}${value}`, `${f.description}${f.multiple ? " (repeatable)" : ""}`];
  });
}

function usageLine(verb: AnyVerb): string {
  const args = (verb.args ?? []).map((a) => `<${a.name}>`).join(" ");
  return `baton ${verbName(verb)}${args ? ` ${args}` : ""} [flags]`;
}

function defaults(system: SystemName): string {
  const s = SYSTEMS[system];
  return `address --address, else $${s.addressEnv}, else ${s.defaultAddress}; token --token, else $${s.tokenEnv}`;
}

const OUTPUT_NOTE =
  "Results are JSON when stdout is not a terminal (one document; NDJSON, one event a line, for streams)\n" +
  "and tables on a terminal; --output overrides. Errors are one line on stderr (JSON when stderr is\n" +
  "not a terminal). Long waits show their progress on stderr, on a terminal only.";

/** `baton --help`. */
export function mainHelp(): string {
  const verbs = twoColumns(
    VERBS.map((v) => [
      usageLine(v)
        .replace(/^baton /, "")
        .replace(/ \[flags\]$/, ""),
      v.summary,
    ]),
  );
  const systems = twoColumns((Object.keys(SYSTEMS) as SystemName[]).map((name) => [name, SYSTEMS[name].summary]));
  const env = twoColumns((Object.keys(SYSTEMS) as SystemName[]).map((name) => [name, defaults(name)]));
  return `Usage: baton <system> <verb> [arguments] [flags]

Scripts ORCA, baaaht, Portarium, Stratavore and edgemesh, on the Baton clients.

Systems:
${systems}

Verbs:
${verbs}

Flags of every verb:
${twoColumns(flagRows(GLOBAL_FLAGS))}

Where each system is:
${env}

${OUTPUT_NOTE}

Exit codes:
${twoColumns(EXIT_CODE_HELP.map(([c, m]) => [String(c), m]))}

Run 'baton <system> --help' or 'baton <system> <verb> --help' for more.
`;
}

/** `baton <system> --help`. */
export function systemHelp(system: SystemName): string {
  const s = SYSTEMS[system];
  const verbs = twoColumns(verbsOf(system).map((v) => [usageLine(v).replace(/^baton /, ""), v.summary]));
  const own =
    Object.keys(s.flags).length > 0 ? `\nFlags of every ${system} verb:\n${twoColumns(flagRows(s.flags))}\n` : "";
  return `Usage: baton ${system} <verb> [arguments] [flags]

${s.summary}.
${defaults(system)}.

Verbs:
${verbs}
${own}
Flags of every verb:
${twoColumns(flagRows(GLOBAL_FLAGS))}

Run 'baton ${system} <verb> --help' for a verb's arguments and flags.
`;
}

/** `baton <system> <verb> --help`. */
export function verbHelp(verb: AnyVerb): string {
  const s = SYSTEMS[verb.system];
  const parts = [`Usage: ${usageLine(verb)}`, "", `${verb.summary}.`];
  if (verb.description) parts.push(verb.description);
  if (verb.args?.length) parts.push("", "Arguments:", twoColumns(verb.args.map((a) => [`<${a.name}>`, a.description])));
  if (verb.flags && Object.keys(verb.flags).length > 0) parts.push("", "Flags:", twoColumns(flagRows(verb.flags)));
  if (Object.keys(s.flags).length > 0)
    parts.push("", `Flags of every ${verb.system} verb:`, twoColumns(flagRows(s.flags)));
  parts.push("", "Flags of every verb:", twoColumns(flagRows(GLOBAL_FLAGS)));
  parts.push("", `${defaults(verb.system)}.`, "", OUTPUT_NOTE, "");
  return parts.join("\n");
}
