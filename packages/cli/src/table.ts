/** One column of a table: its header and the dotted path of the value in each row (`metadata.name`). */
export interface Column {
  /** The header, printed in capitals. */
  header: string;
  /** Where the cell's value is in a row: a property name, or names joined by dots. */
  path: string;
}

/** Options of {@link renderTable} and {@link renderRecord}. */
export interface TableOptions {
  /** The widest a cell may be, in characters; longer values end in `…`. Default 60. */
  maxCellWidth?: number;
}

const DEFAULT_MAX_CELL = 60;

/** The value at a dotted `path` of `value`, or `undefined` where the path leads nowhere. */
export function valueAt(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * A value as one table cell: strings as they are, `undefined`/`null` as empty, everything
 * else as compact JSON; control characters (newlines, escapes) become spaces so a row stays
 * one line and cannot move the cursor; too long values are cut to `max` with `…`.
 */
export function cellText(value: unknown, max = DEFAULT_MAX_CELL): string {
  let text: string;
  if (value === undefined || value === null) text = "";
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") text = String(value);
  else text = JSON.stringify(value) ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  text = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, Math.max(1, max - 1)).join("")}…` : text;
}

function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number): string {
  return text + " ".repeat(Math.max(0, to - width(text)));
}

/**
 * Renders rows as an aligned text table: a header line of the columns' headers in
 * capitals, then one line per row, columns two spaces apart, no trailing spaces, each line
 * ending in a newline. No rows: the header alone.
 *
 * @example
 * ```ts
 * renderTable([{ id: "s-1", state: "ACTIVE" }], [{ header: "id", path: "id" }, { header: "state", path: "state" }]);
 * // "ID   STATE\ns-1  ACTIVE\n"
 * ```
 */
export function renderTable(rows: readonly unknown[], columns: readonly Column[], options: TableOptions = {}): string {
  const max = options.maxCellWidth ?? DEFAULT_MAX_CELL;
  const header = columns.map((c) => c.header.toUpperCase());
  const body = rows.map((row) => columns.map((c) => cellText(valueAt(row, c.path), max)));
  const widths = header.map((h, i) => Math.max(width(h), ...body.map((cells) => width(cells[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [header, ...body].map((cells) => `${line(cells)}\n`).join("");
}

/** The leaves of a JSON value as `[dotted path, value]` pairs; arrays and empty objects are leaves. */
export function flatten(value: unknown, prefix = ""): Array<[string, unknown]> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [[prefix, value]];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return prefix === "" ? [] : [[prefix, value]];
  return entries.flatMap(([k, v]) => flatten(v, prefix === "" ? k : `${prefix}.${k}`));
}

/**
 * Renders one object as a two-column table of its fields (nested objects as dotted keys),
 * for `get`-like verbs on a terminal. A value that is not an object is printed as one cell.
 */
export function renderRecord(value: unknown, options: TableOptions = {}): string {
  const max = options.maxCellWidth ?? DEFAULT_MAX_CELL;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `${cellText(value, max)}\n`;
  const pairs = flatten(value);
  const keyWidth = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${`${pad(k, keyWidth)}  ${cellText(v, max)}`.trimEnd()}\n`).join("");
}

/** One row of a stream on a terminal: the columns' cells two spaces apart (no header, no alignment). */
export function renderStreamRow(row: unknown, columns: readonly Column[], options: TableOptions = {}): string {
  const max = options.maxCellWidth ?? DEFAULT_MAX_CELL;
  return `${columns
    .map((c) => cellText(valueAt(row, c.path), max))
    .join("  ")
    .trimEnd()}\n`;
}
