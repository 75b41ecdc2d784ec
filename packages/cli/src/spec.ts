import type { BaaahtClient } from "@baton/baaaht";
import type { EdgemeshClient } from "@baton/edgemesh";
import type { OrcaClient } from "@baton/orca";
import type { PortariumClient } from "@baton/portarium";
import type { StratavoreClient } from "@baton/stratavore";
import { UsageError } from "./exit-codes.js";
import type { Io, Output, Progress } from "./output.js";
import type { Column } from "./table.js";

/** The systems `baton` drives. */
export type SystemName = "orca" | "baaaht" | "portarium" | "stratavore" | "edgemesh";

/** The client of each system. */
export interface Clients {
  /** ORCA. */
  orca: OrcaClient;
  /** baaaht. */
  baaaht: BaaahtClient;
  /** Portarium. */
  portarium: PortariumClient;
  /** Stratavore. */
  stratavore: StratavoreClient;
  /** edgemesh. */
  edgemesh: EdgemeshClient;
}

/** One flag: its kind, what it means (for `--help`) and the placeholder of its value. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` does not. */
  type: "string" | "boolean";
  /** One line for `--help`. */
  description: string;
  /** The value's placeholder in `--help` (`N`, `FILE`, `JSON`). Default `VALUE`. */
  value?: string;
  /** May be given more than once. */
  multiple?: boolean;
  /** A one-letter alias. */
  short?: string;
}

/** Flags by name (without the `--`). */
export type FlagSpecs = Record<string, FlagSpec>;

/** One positional argument of a verb. */
export interface ArgSpec {
  /** Its name, in `--help` and in {@link VerbContext.args}. */
  name: string;
  /** One line for `--help`. */
  description: string;
}

/** The parsed flags of one command line, read with typed, checked accessors. */
export class FlagValues {
  readonly #values: Record<string, string | boolean | Array<string | boolean> | undefined>;

  /** @param values what `node:util`'s `parseArgs` answered, by flag name. */
  constructor(values: Record<string, string | boolean | Array<string | boolean> | undefined>) {
    this.#values = values;
  }

  /** Whether the flag was given. */
  has(name: string): boolean {
    return this.#values[name] !== undefined;
  }

  /** A string flag's value. */
  string(name: string): string | undefined {
    const v = this.#values[name];
    return typeof v === "string" ? v : undefined;
  }

  /** A boolean flag. */
  bool(name: string): boolean {
    return this.#values[name] === true;
  }

  /** A repeatable string flag's values (none: empty). */
  list(name: string): string[] {
    const v = this.#values[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string");
  }

  /**
   * An integer flag (0 or more, at most `max`).
   *
   * @throws {UsageError} when the value is not such an integer.
   */
  int(name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > max)
      throw new UsageError(`--${name} wants an integer from 0 to ${max}, got ${v}`);
    return Number(v);
  }

  /**
   * A number flag.
   *
   * @throws {UsageError} when the value is not a finite number.
   */
  number(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = v.trim() === "" ? Number.NaN : Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} wants a number, got ${v}`);
    return n;
  }

  /**
   * A repeatable `KEY=VALUE` flag as a record, or `undefined` when not given.
   *
   * @throws {UsageError} on an entry without `=` or with an empty key.
   */
  pairs(name: string): Record<string, string> | undefined {
    const entries = this.list(name);
    if (entries.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const kv of entries) {
      const i = kv.indexOf("=");
      if (i <= 0) throw new UsageError(`--${name} wants KEY=VALUE, got ${kv}`);
      out[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return out;
  }

  /**
   * A one-of flag.
   *
   * @throws {UsageError} when the value is not one of `choices`.
   */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(choices as readonly string[]).includes(v))
      throw new UsageError(`--${name} must be ${choices.join(", ")}, got ${v}`);
    return v as T;
  }
}

/** What a verb gets besides its client. */
export interface VerbContext {
  /** The positional arguments, by the names of the verb's {@link ArgSpec}s. */
  args: Record<string, string>;
  /** Every flag of the command line. */
  flags: FlagValues;
  /** Where results go. */
  out: Output;
  /** The progress display (drawn only on a terminal). */
  progress: Progress;
  /** Aborted on SIGINT/SIGTERM: pass it to calls and streams. */
  signal: AbortSignal;
  /** stdin, stdout, stderr and the environment. */
  io: Io;
  /**
   * The JSON object of `--json` (`@file`, `-` for stdin, or the text), `{}` without it.
   *
   * @throws {UsageError} when it cannot be read or is not a JSON object.
   */
  body(): Promise<Record<string, unknown>>;
  /**
   * The JSON value of a string flag (`@file`, `-`, or JSON text), `undefined` when not given.
   *
   * @throws {UsageError} when it cannot be read or is not JSON.
   */
  jsonFlag(name: string): Promise<unknown>;
}

/** One verb of the table `baton` is built from: parsing, `--help` and what it does. */
export interface Verb<S extends SystemName = SystemName> {
  /** The system. */
  system: S;
  /** The words after the system (`["runs", "list"]`). */
  words: string[];
  /** One line for `--help` listings. */
  summary: string;
  /** More lines for the verb's own `--help`. */
  description?: string;
  /** Positional arguments, all required. */
  args?: ArgSpec[];
  /** The verb's own flags. */
  flags?: FlagSpecs;
  /** The table columns on a terminal (lists and streams). */
  columns?: Column[];
  /** Does it. */
  run(client: Clients[S], ctx: VerbContext): Promise<void>;
}

/** A verb of any system. */
export type AnyVerb = { [S in SystemName]: Verb<S> }[SystemName];

/** Columns from `HEADER=path` strings (or a bare path, which is its own header). */
export function columns(...specs: string[]): Column[] {
  return specs.map((s) => {
    const i = s.indexOf("=");
    return i < 0 ? { header: s, path: s } : { header: s.slice(0, i), path: s.slice(i + 1) };
  });
}
