import { type Column, renderRecord, renderStreamRow, renderTable } from "./table.js";

/** How results are printed: one JSON document (NDJSON for streams), or tables for people. */
export type OutputMode = "json" | "table";

/** Where `baton` writes: stdout for results, stderr for errors and progress, and whether each is a terminal. */
export interface Io {
  /** Results. */
  stdout: { write(text: string): unknown; isTTY?: boolean };
  /** Errors and the progress display. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
  /** Request bodies given as `--json -`. */
  stdin: AsyncIterable<string | Buffer | Uint8Array>;
  /** Environment variables (addresses, tokens). */
  env: Record<string, string | undefined>;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * A one-line progress display on stderr for long waits (event follows, `orca result
 * --wait`, Portarium invocations), redrawn in place with the time waited. It shows only
 * when stderr is a terminal; otherwise every method does nothing, so pipes and logs get
 * results and errors only.
 */
export class Progress {
  readonly #stderr: Io["stderr"];
  readonly #enabled: boolean;
  readonly #now: () => number;
  #text: string | undefined;
  #shown = false;
  #frame = 0;
  #started = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param enabled default: whether stderr is a terminal. */
  constructor(stderr: Io["stderr"], enabled = stderr.isTTY === true, now: () => number = Date.now) {
    this.#stderr = stderr;
    this.#enabled = enabled;
    this.#now = now;
  }

  /** Whether anything is drawn at all. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Shows (or replaces) the progress text. */
  update(text: string): void {
    if (!this.#enabled) return;
    if (this.#text === undefined) {
      this.#started = this.#now();
      // Redraw a few times a second so the spinner and the time move while nothing arrives;
      // unref'd, so the display never keeps the process alive.
      this.#timer = setInterval(() => this.#draw(), 120);
      this.#timer.unref();
    }
    this.#text = text;
    this.#draw();
  }

  /** Erases the line (before a result is printed on the same terminal); the next redraw shows it again. */
  clear(): void {
    if (!this.#shown) return;
    this.#stderr.write("\r\x1b[2K");
    this.#shown = false;
  }

  /** Erases the line and stops redrawing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clear();
    this.#text = undefined;
  }

  #draw(): void {
    if (this.#text === undefined) return;
    const secs = Math.floor((this.#now() - this.#started) / 1000);
    const frame = SPINNER[this.#frame++ % SPINNER.length];
    this.#stderr.write(`\r\x1b[2K${frame} ${this.#text} (${secs}s)`);
    this.#shown = true;
  }
}

/** Prints results in the chosen {@link OutputMode}, erasing the progress line before each write. */
export class Output {
  /** The mode results are printed in. */
  readonly mode: OutputMode;
  readonly #stdout: Io["stdout"];
  readonly #progress: Progress;
  readonly #columns: readonly Column[];

  /** @param columns the table columns of lists and streams (the verb's). */
  constructor(mode: OutputMode, stdout: Io["stdout"], progress: Progress, columns: readonly Column[] = []) {
    this.mode = mode;
    this.#stdout = stdout;
    this.#progress = progress;
    this.#columns = columns;
  }

  #write(text: string): void {
    this.#progress.clear();
    this.#stdout.write(text);
  }

  /** One result: a JSON document, or its fields as a two-column table. */
  one(value: unknown): void {
    this.#write(this.mode === "json" ? `${JSON.stringify(value, null, 2)}\n` : renderRecord(value));
  }

  /** A list: one JSON array, or a table of the columns. */
  list(items: readonly unknown[], columns: readonly Column[] = this.#columns): void {
    this.#write(this.mode === "json" ? `${JSON.stringify(items, null, 2)}\n` : renderTable(items, columns));
  }

  /** One item of a stream: an NDJSON line, or one line of the columns. */
  item(value: unknown, columns: readonly Column[] = this.#columns): void {
    this.#write(this.mode === "json" ? `${JSON.stringify(value)}\n` : renderStreamRow(value, columns));
  }
}
