/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logger Baton writes to. Any object with these four methods works
 * (`console`, pino, winston...). By default Baton logs nothing.
 */
export interface Logger {
  /** Per-call detail: attempts, reconnects. */
  debug(message: string, fields?: LogFields): void;
  /** Notable but expected events. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong and was recovered from (a retry, a resumed stream). */
  warn(message: string, fields?: LogFields): void;
  /** Something went wrong and was not recovered from. */
  error(message: string, fields?: LogFields): void;
}

const noop = (): void => {};

/** A logger that discards everything: the default. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
