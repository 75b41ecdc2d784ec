import { randomBytes } from "node:crypto";
import { open, realpath, stat } from "node:fs/promises";
import { basename, isAbsolute, relative, resolve, sep } from "node:path";
import { ReadMode } from "@baton/wire/edgemesh";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";

/** Most bytes one ReadFile returns when `max_bytes` is 0 (1 MiB). */
export const DEFAULT_READ_MAX_BYTES = 1024 * 1024;
/** How many bytes of the content `content_preview` shows as text. */
const PREVIEW_BYTES = 4096;

/**
 * Resolves `path` (relative to `root`, or absolute inside it) to a real file under the real
 * root, following symlinks before the check so a link pointing out is refused too.
 *
 * @throws {ConnectError} PERMISSION_DENIED outside the root, NOT_FOUND when missing,
 *   INVALID_ARGUMENT for an empty path or something that is not a regular file.
 */
export async function confine(root: string, path: string): Promise<{ real: string; size: number }> {
  if (path === "") throw new ConnectError("path is empty", Code.InvalidArgument);
  const realRoot = await realpath(root);
  const wanted = isAbsolute(path) ? resolve(path) : resolve(realRoot, path);
  const outsideOf = (base: string, p: string) => {
    const rel = relative(base, p);
    return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
  };
  const outside = (p: string) => outsideOf(realRoot, p);
  // Check the path as written first, so `../x` is refused even when it does not exist (the
  // root may itself be reached through a symlink, so either spelling of it counts).
  if (outside(wanted) && outsideOf(resolve(root), isAbsolute(path) ? resolve(path) : resolve(root, path)))
    throw new ConnectError(`path ${JSON.stringify(path)} is outside the file root`, Code.PermissionDenied);
  let real: string;
  try {
    real = await realpath(wanted);
  } catch {
    throw new ConnectError(`no file ${JSON.stringify(path)}`, Code.NotFound);
  }
  if (outside(real))
    throw new ConnectError(`path ${JSON.stringify(path)} leads outside the file root`, Code.PermissionDenied);
  const st = await stat(real);
  if (!st.isFile()) throw new ConnectError(`${JSON.stringify(path)} is not a regular file`, Code.InvalidArgument);
  return { real, size: st.size };
}

/** What ReadFile answers. */
export interface ReadResult {
  content: Uint8Array;
  sizeBytes: number;
  truncated: boolean;
  contentPreview: string;
}

/**
 * Reads part of a confined file: FULL (from the start, at most `maxBytes`), HEAD (the first
 * `maxBytes`), TAIL (the last `maxBytes`), RANGE (`length` bytes from `offset`, at most
 * `maxBytes`; 0 length: to the end). `maxBytes` 0 means {@link DEFAULT_READ_MAX_BYTES}.
 *
 * @throws {ConnectError} as {@link confine}; INVALID_ARGUMENT for negative numbers or an
 *   unknown mode; OUT_OF_RANGE for a RANGE offset past the end.
 */
export async function readConfined(
  root: string,
  path: string,
  mode: ReadMode,
  maxBytesIn: number,
  offsetIn: bigint,
  lengthIn: bigint,
): Promise<ReadResult> {
  if (maxBytesIn < 0 || offsetIn < 0n || lengthIn < 0n)
    throw new ConnectError("max_bytes, offset and length must not be negative", Code.InvalidArgument);
  const { real, size } = await confine(root, path);
  const maxBytes = maxBytesIn === 0 ? DEFAULT_READ_MAX_BYTES : maxBytesIn;
  let start: number;
  let want: number;
  switch (mode) {
    case ReadMode.FULL:
    case ReadMode.HEAD:
      start = 0;
      want = size;
      break;
    case ReadMode.TAIL:
      start = Math.max(0, size - maxBytes);
      want = size - start;
      break;
    case ReadMode.RANGE: {
      const offset = Number(offsetIn);
      if (offset > size) throw new ConnectError(`offset ${offset} is past the end (${size} bytes)`, Code.OutOfRange);
      start = offset;
      want = lengthIn === 0n ? size - offset : Math.min(Number(lengthIn), size - offset);
      break;
    }
    default:
      throw new ConnectError(`unknown read mode ${String(mode)}`, Code.InvalidArgument);
  }
  const n = Math.min(want, maxBytes);
  const content = new Uint8Array(n);
  const fh = await open(real, "r");
  try {
    let done = 0;
    while (done < n) {
      const { bytesRead } = await fh.read(content, done, n - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    const got = content.subarray(0, done);
    return {
      content: got,
      sizeBytes: size,
      truncated: done < want,
      contentPreview: Buffer.from(got.subarray(0, PREVIEW_BYTES)).toString("utf8"),
    };
  } finally {
    await fh.close();
  }
}

/** A redeemable download. */
interface Ticket {
  real: string;
  filename: string;
  size: number;
  expiresMs: number;
}

/** One-time download tickets: made for a confined file, redeemed once, before expiry. */
export class TicketBook {
  readonly #tickets = new Map<string, Ticket>();
  readonly #spent = new Set<string>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(clock: Clock, ttlMs: number) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** Makes a ticket for `path` under `root`. @throws {ConnectError} as {@link confine}. */
  async create(
    root: string,
    path: string,
  ): Promise<{ token: string; filename: string; size: number; expiresMs: number }> {
    const { real, size } = await confine(root, path);
    this.#prune();
    const token = randomBytes(24).toString("base64url");
    const t = { real, filename: basename(real), size, expiresMs: this.#clock.now() + this.#ttlMs };
    this.#tickets.set(token, t);
    return { token, ...t };
  }

  /** Moves expired tickets to the spent set, which keeps at most 10000 tokens (oldest forgotten first). */
  #prune(): void {
    const now = this.#clock.now();
    for (const [token, t] of this.#tickets) {
      if (now >= t.expiresMs) {
        this.#tickets.delete(token);
        this.#spent.add(token);
      }
    }
    for (const token of this.#spent) {
      if (this.#spent.size <= 10_000) break;
      this.#spent.delete(token);
    }
  }

  /**
   * Redeems a ticket: the file to stream, or why not: `404` for a token never issued, `410`
   * for one already used or expired.
   */
  redeem(token: string): { ticket: Ticket } | { status: 404 | 410; reason: string } {
    const t = this.#tickets.get(token);
    if (!t) {
      return this.#spent.has(token)
        ? { status: 410, reason: "ticket already used or expired" }
        : { status: 404, reason: "unknown ticket" };
    }
    this.#tickets.delete(token);
    this.#spent.add(token);
    if (this.#clock.now() >= t.expiresMs) return { status: 410, reason: "ticket expired" };
    return { ticket: t };
  }
}
