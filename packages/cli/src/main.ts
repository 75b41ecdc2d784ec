import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { EXIT, exitCodeOf, formatError, UsageError } from "./exit-codes.js";
import { mainHelp, systemHelp, verbHelp } from "./help.js";
import { readJsonArg, readJsonObject } from "./input.js";
import { type Io, Output, type OutputMode, Progress } from "./output.js";
import { type AnyVerb, type Clients, FlagValues, type SystemName, type Verb, type VerbContext } from "./spec.js";
import { GLOBAL_FLAGS, SYSTEMS } from "./systems.js";
import { verbName, verbsOf } from "./verbs.js";

/** The version of `@baton/cli`, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function isSystem(name: string | undefined): name is SystemName {
  return name !== undefined && Object.hasOwn(SYSTEMS, name);
}

/** The verb whose words start `rest` (the longest match), and the arguments after them. */
function findVerb(system: SystemName, rest: string[]): { verb: AnyVerb; after: string[] } | undefined {
  let best: AnyVerb | undefined;
  for (const v of verbsOf(system)) {
    if (v.words.every((w, i) => rest[i] === w) && (!best || v.words.length > best.words.length)) best = v;
  }
  return best ? { verb: best, after: rest.slice(best.words.length) } : undefined;
}

const wantsHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

/** Parses a verb's arguments and flags. @throws {UsageError} on anything the verb does not take. */
function parseVerbArgs(verb: AnyVerb, args: string[]): { flags: FlagValues; positionals: Record<string, string> } {
  const specs = { ...GLOBAL_FLAGS, ...SYSTEMS[verb.system].flags, ...verb.flags };
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
  for (const [name, f] of Object.entries(specs)) {
    options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see baton ${verbName(verb)} --help)`);
  }
  const wanted = verb.args ?? [];
  if (parsed.positionals.length !== wanted.length) {
    const names = wanted.map((a) => `<${a.name}>`).join(" ") || "no arguments";
    throw new UsageError(
      `baton ${verbName(verb)} takes ${names}, got ${parsed.positionals.length === 0 ? "none" : parsed.positionals.join(" ")}`,
    );
  }
  const positionals: Record<string, string> = {};
  wanted.forEach((a, i) => {
    positionals[a.name] = parsed.positionals[i] ?? "";
  });
  return { flags: new FlagValues(parsed.values), positionals };
}

/** Runs one verb with its client; closes the client after. */
async function runVerb<S extends SystemName>(verb: Verb<S>, client: Clients[S], ctx: VerbContext): Promise<void> {
  try {
    await verb.run(client, ctx);
  } finally {
    await client.close().catch(() => {});
  }
}

/** Opens the verb's client and runs it; the switch ties each system's client type to its verbs. */
function dispatch(verb: AnyVerb, flags: FlagValues, env: Io["env"], ctx: VerbContext): Promise<void> {
  switch (verb.system) {
    case "orca":
      return runVerb(verb, SYSTEMS.orca.open(flags, env), ctx);
    case "baaaht":
      return runVerb(verb, SYSTEMS.baaaht.open(flags, env), ctx);
    case "portarium":
      return runVerb(verb, SYSTEMS.portarium.open(flags, env), ctx);
    case "stratavore":
      return runVerb(verb, SYSTEMS.stratavore.open(flags, env), ctx);
    case "edgemesh":
      return runVerb(verb, SYSTEMS.edgemesh.open(flags, env), ctx);
  }
}

/**
 * Runs `baton` with `argv` (the arguments after the program name) and answers its exit
 * code; never throws. Results go to `io.stdout`, errors (one line each) and progress to
 * `io.stderr`. `signal` interrupts: streams and waits stop, and the exit code is 130.
 *
 * @example
 * ```ts
 * const code = await main(["orca", "start", "wf-1", "--max-tokens", "1000"], {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   stdin: process.stdin,
 *   env: process.env,
 * });
 * process.exitCode = code;
 * ```
 */
export async function main(
  argv: string[],
  io: Io,
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  const errorsAsJson = io.stderr.isTTY !== true;
  const fail = (err: unknown): number => {
    if (signal.aborted) return EXIT.interrupted;
    io.stderr.write(formatError(err, errorsAsJson));
    return exitCodeOf(err);
  };
  const [first, ...rest] = argv;
  if (first === "--version") {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    (first === undefined ? io.stderr : io.stdout).write(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!isSystem(first)) {
    return fail(
      new UsageError(`unknown system ${first}: one of ${Object.keys(SYSTEMS).join(", ")} (see baton --help)`),
    );
  }
  const found = findVerb(first, rest);
  if (!found) {
    if (rest.length === 0 || (wantsHelp(rest) && !rest.some((a) => !a.startsWith("-")))) {
      (rest.length === 0 ? io.stderr : io.stdout).write(systemHelp(first));
      return rest.length === 0 ? EXIT.usage : EXIT.ok;
    }
    const words = rest.filter((a) => !a.startsWith("-")).join(" ");
    return fail(new UsageError(`unknown verb: baton ${first} ${words} (see baton ${first} --help)`));
  }
  const { verb, after } = found;
  if (wantsHelp(after)) {
    io.stdout.write(verbHelp(verb));
    return EXIT.ok;
  }
  const progress = new Progress(io.stderr);
  try {
    const { flags, positionals } = parseVerbArgs(verb, after);
    const mode: OutputMode = flags.choice("output", ["json", "table"] as const) ?? (io.stdout.isTTY ? "table" : "json");
    const out = new Output(mode, io.stdout, progress, verb.columns ?? []);
    let stdinUsed = false;
    const read = <T>(value: string, what: string, reader: typeof readJsonArg): Promise<T> => {
      if (value === "-") {
        if (stdinUsed) throw new UsageError(`${what}: stdin (-) was already read by another flag`);
        stdinUsed = true;
      }
      return reader(value, what, io.stdin) as Promise<T>;
    };
    const ctx: VerbContext = {
      args: positionals,
      flags,
      out,
      progress,
      signal,
      io,
      body: async () => {
        const value = flags.string("json");
        return value === undefined ? {} : read<Record<string, unknown>>(value, "--json", readJsonObject);
      },
      jsonFlag: async (name) => {
        const value = flags.string(name);
        return value === undefined ? undefined : read<unknown>(value, `--${name}`, readJsonArg);
      },
    };
    await dispatch(verb, flags, io.env, ctx);
    return signal.aborted ? EXIT.interrupted : EXIT.ok;
  } catch (err) {
    return fail(err);
  } finally {
    progress.stop();
  }
}
