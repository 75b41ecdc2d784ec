/**
 * Module settings (`--set KEY=VALUE`): each module declares the settings it reads (name,
 * what values it takes, default, what it does) with the helpers here and reads them through
 * the same declarations, so the CLI's validation and its `--help` text cannot drift from
 * what the modules do.
 */

/** One setting of a module, typed: how it parses, its default, how help describes it. */
export interface Setting<T> {
  /** What it does, one sentence. */
  readonly doc: string;
  /** The values it takes, as errors and help say it ("a positive number of ms"). */
  readonly allowed: string;
  /** The value when unset (a function for a default computed at start, e.g. the working directory). */
  readonly default: T | (() => T);
  /** The default as help shows it; omitted, the default itself when it is not computed. */
  readonly defaultText?: string | undefined;
  /** The value of a raw setting, or undefined when it is not one of the allowed values. */
  parse(raw: string): T | undefined;
}

/** A table of one module's settings: `{ name: Setting }`, read as `<prefix>.<name>`. */
export type SettingTable = Readonly<Record<string, Setting<unknown>>>;

/** The values a {@link SettingTable} reads to. */
export type SettingValues<S extends SettingTable> = {
  -readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

/** A setting as the CLI knows it: its full key, help text and a check of a raw value. */
export interface SettingDeclaration {
  /** The full key, e.g. `baaaht.streamHeartbeatMs`. */
  readonly key: string;
  /** What it does. */
  readonly doc: string;
  /** The values it takes. */
  readonly allowed: string;
  /** The default as help shows it, if it has one worth showing. */
  readonly defaultText?: string | undefined;
  /** Whether `raw` is one of the allowed values. */
  accepts(raw: string): boolean;
}

/** Options of {@link numberSetting}. */
export interface NumberSettingOptions {
  /** What it does. */
  doc: string;
  /** The default. */
  default: number;
  /** The smallest value allowed (inclusive). Default: anything above 0. */
  min?: number;
  /** Whether only integers are allowed. */
  integer?: boolean;
  /** How help and errors say what is allowed; derived from `min`/`integer` when omitted. */
  allowed?: string;
  /** The default as help shows it. */
  defaultText?: string;
}

/** A number setting: positive by default, or at least `min`; optionally an integer. */
export function numberSetting(o: NumberSettingOptions): Setting<number> {
  const kind = o.integer ? "integer" : "number";
  return {
    doc: o.doc,
    allowed: o.allowed ?? (o.min === undefined ? `a positive ${kind}` : `a ${kind} >= ${o.min}`),
    default: o.default,
    defaultText: o.defaultText,
    parse(raw) {
      const n = raw.trim() === "" ? Number.NaN : Number(raw);
      if (!Number.isFinite(n) || (o.min === undefined ? n <= 0 : n < o.min)) return undefined;
      if (o.integer && !Number.isSafeInteger(n)) return undefined;
      return n;
    },
  };
}

/** A setting taking one of a few words. */
export function choiceSetting<const T extends string>(values: readonly T[], dflt: T, doc: string): Setting<T> {
  return {
    doc,
    allowed: values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(", ")}`,
    default: dflt,
    parse: (raw) => values.find((v) => v === raw),
  };
}

/** A `true`/`false` setting. */
export function booleanSetting(dflt: boolean, doc: string): Setting<boolean> {
  return {
    doc,
    allowed: "true or false",
    default: dflt,
    parse: (raw) => (raw === "true" ? true : raw === "false" ? false : undefined),
  };
}

/** A free-text setting; `check` narrows it (returns false for a value it refuses). */
export function textSetting<D extends string | undefined>(
  dflt: D | (() => D),
  doc: string,
  more: { defaultText?: string; allowed?: string; check?: (raw: string) => boolean } = {},
): Setting<string | D> {
  return {
    doc,
    allowed: more.allowed ?? "any text",
    default: dflt,
    defaultText: more.defaultText,
    parse: (raw) => (more.check && !more.check(raw) ? undefined : raw),
  };
}

/** A comma-separated list setting (items trimmed, empty ones dropped). */
export function listSetting(dflt: readonly string[], doc: string): Setting<readonly string[]> {
  return {
    doc,
    allowed: "a comma-separated list",
    default: dflt,
    defaultText: dflt.join(","),
    parse: (raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
  };
}

/** Options of {@link readSettings}. */
export interface ReadSettingsOptions {
  /** Treat a blank value (only whitespace) as unset, and trim the others. */
  blankIsUnset?: boolean;
}

/**
 * Reads a module's settings, each `<prefix>.<name>` of `settings` or its default.
 *
 * @throws {Error} naming the setting and what it allows when a value is not allowed.
 */
export function readSettings<S extends SettingTable>(
  prefix: string,
  table: S,
  settings: ReadonlyMap<string, string>,
  options: ReadSettingsOptions = {},
): SettingValues<S> {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(table)) {
    let raw = settings.get(`${prefix}.${name}`);
    if (options.blankIsUnset && raw !== undefined) raw = raw.trim() === "" ? undefined : raw.trim();
    if (raw === undefined) {
      out[name] = typeof setting.default === "function" ? (setting.default as () => unknown)() : setting.default;
      continue;
    }
    const value = setting.parse(raw);
    if (value === undefined) throw new Error(`${prefix}.${name} must be ${setting.allowed}, got ${raw}`);
    out[name] = value;
  }
  return out as SettingValues<S>;
}

/** The declarations of a module's settings table, for the CLI's checks and help. */
export function declareSettings(
  prefix: string,
  table: SettingTable,
  options: ReadSettingsOptions = {},
): SettingDeclaration[] {
  return Object.entries(table).map(([name, s]) => ({
    key: `${prefix}.${name}`,
    doc: s.doc,
    allowed: s.allowed,
    defaultText:
      s.defaultText ??
      (typeof s.default === "function" || s.default === undefined || s.default === "" ? undefined : String(s.default)),
    accepts: (raw: string) => {
      if (options.blankIsUnset && raw.trim() === "") return true;
      return s.parse(options.blankIsUnset ? raw.trim() : raw) !== undefined;
    },
  }));
}

/**
 * Checks settings against declarations: every key must be declared and every value
 * allowed. With `onlyDeclaredPrefixes`, keys of a prefix no declaration has (a module not
 * running) are let through.
 *
 * @throws {Error} naming the key: an unknown one with the keys its module knows (or the
 *   prefixes known), a bad value with what the setting allows.
 */
export function checkSettings(
  settings: Readonly<Record<string, string>>,
  declarations: readonly SettingDeclaration[],
  options: { onlyDeclaredPrefixes?: boolean } = {},
): void {
  const byKey = new Map(declarations.map((d) => [d.key, d]));
  const prefixOf = (key: string) => key.slice(0, Math.max(0, key.indexOf(".")));
  const prefixes = [...new Set(declarations.map((d) => prefixOf(d.key)))];
  for (const [key, raw] of Object.entries(settings)) {
    const d = byKey.get(key);
    if (d === undefined) {
      const prefix = prefixOf(key);
      if (prefixes.includes(prefix)) {
        const known = declarations.filter((x) => prefixOf(x.key) === prefix).map((x) => x.key);
        throw new Error(`unknown setting ${key}: the ${prefix} settings are ${known.join(", ")}`);
      }
      if (options.onlyDeclaredPrefixes) continue;
      throw new Error(`unknown setting ${key}: settings start with ${prefixes.map((p) => `${p}.`).join(", ")}`);
    }
    if (!d.accepts(raw)) throw new Error(`${key} must be ${d.allowed}, got ${raw}`);
  }
}

/** The help text of settings: one entry per key, with what it takes, its default and doc. */
export function settingsHelp(declarations: readonly SettingDeclaration[], indent = "  "): string {
  return declarations
    .map((d) => {
      const dflt = d.defaultText === undefined ? "" : ` (default ${d.defaultText})`;
      return `${indent}${d.key}: ${d.allowed}${dflt}\n${indent}    ${d.doc}`;
    })
    .join("\n");
}
