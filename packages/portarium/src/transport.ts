import {
  type FetchLike,
  isBodyInMemory,
  isRetryableError,
  type Logger,
  type RetryPolicy,
  silentLogger,
  UnavailableError,
  withRetries,
} from "@baton/core";
import type { TokenSource } from "./auth.js";
import { problemToError } from "./errors.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/** The workspace a request is for, read from its `/v1/workspaces/{id}` path. */
export function workspaceOfUrl(url: string): string | undefined {
  return workspaceOfPath(new URL(url).pathname);
}

function workspaceOfPath(pathname: string): string | undefined {
  const m = /\/v1\/workspaces\/([^/?#]+)/.exec(pathname);
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
}

/** What {@link createTransport} needs. */
export interface TransportOptions {
  /** The underlying fetch (default of the client: its connection's `fetch`). */
  fetch: FetchLike;
  /** Where bearer tokens come from. */
  tokens: TokenSource;
  /** The workspace of calls whose path names none (`GET /v1/workspaces`). */
  defaultWorkspaceId: string | undefined;
  /** Retry policy (attempts, backoff); `maxAttempts: 1` switches retries off. */
  retry: RetryPolicy;
  /** Where retries are logged. Default: nowhere. */
  logger?: Logger;
  /** The wait between attempts, injectable for tests. Default core's `sleep`. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The `fetch` the openapi-fetch client uses. It sets `Authorization: Bearer` on every
 * attempt; after a 401 it asks a refreshable token source for a new token and sends the
 * request once more. Through core's `withRetries` (the one backoff of Baton) it retries
 * transient failures — network errors, a body cut off mid-way, 502/503/504, and 429 with
 * `Retry-After` — of reads (GET/HEAD/OPTIONS), and of other requests only when they carry an
 * `Idempotency-Key` (the same key every time), waiting as `Retry-After` says or with
 * exponential backoff. Once attempts run out, the last transient response is returned as
 * it is, so its problem+json becomes the error. Event streams (`Accept: text/event-stream`)
 * are not retried here: their reader resumes them.
 *
 * A request body is read once into memory, and only when it may be sent again (a retry or a
 * token refresh); other requests pass through untouched. JSON responses are read whole
 * inside the attempt, so a connection that drops mid-body is retried like one that drops
 * before the headers (one that core's fetch already read into memory is handed on as it is);
 * `text/event-stream` responses are handed over as they arrive.
 */
export function createTransport(options: TransportOptions): FetchLike {
  const { tokens, retry } = options;
  const logger = options.logger ?? silentLogger;
  const once: RetryPolicy = { ...retry, maxAttempts: 1 };
  return async (request: Request): Promise<Response> => {
    const stream = request.headers.get("accept")?.includes("text/event-stream") ?? false;
    const safe = SAFE_METHODS.has(request.method) || request.headers.has("idempotency-key");
    const policy = safe && !stream ? retry : once;
    // The token endpoint takes credentials in its body, never a bearer token. (The URL is parsed once.)
    const pathname = new URL(request.url).pathname;
    const anonymous = pathname.endsWith("/v1/auth/token");
    const refreshable = !anonymous && tokens.refreshable;
    const workspaceId = workspaceOfPath(pathname) ?? options.defaultWorkspaceId;
    const resend = policy.maxAttempts > 1 || refreshable;
    const body = request.body !== null && resend ? await request.arrayBuffer() : undefined;
    // Without a body the same Request can be sent again; with one, each attempt gets a copy of the bytes.
    const fresh = (): Request => (body === undefined ? request : new Request(request, { body }));
    const send = async (forceRefresh: boolean): Promise<Response> => {
      const req = fresh();
      const token = anonymous ? undefined : await untilAborted(tokens.get(workspaceId, forceRefresh), request.signal);
      if (token !== undefined) req.headers.set("authorization", `Bearer ${token}`);
      try {
        return await options.fetch(req);
      } catch (err) {
        throw networkError(request, err);
      }
    };
    let refreshed = false;
    return withRetries(
      async (attempt) => {
        let res = await send(false);
        if (res.status === 401 && refreshable && !refreshed) {
          refreshed = true;
          await res.body?.cancel();
          res = await send(true);
        }
        const transient = TRANSIENT_STATUSES.has(res.status) || res.status === 429;
        if (transient && attempt < policy.maxAttempts) {
          const err = problemToError(res.status, undefined, res.headers);
          if (isRetryableError(err, policy)) {
            await res.body?.cancel();
            throw err;
          }
        }
        // An event stream is never read whole, whether or not the request said it wanted one.
        if (stream || res.body === null || res.headers.get("content-type")?.startsWith("text/event-stream")) return res;
        // The connection's own fetch read it whole already: no second copy.
        if (isBodyInMemory(res)) return res;
        let bytes: ArrayBuffer;
        try {
          bytes = await res.arrayBuffer();
        } catch (err) {
          throw networkError(request, err);
        }
        return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
      },
      {
        policy,
        logger,
        signal: request.signal,
        logFields: { method: request.method, url: request.url },
        ...(options.sleep ? { sleep: options.sleep } : {}),
      },
    );
  };
}

/** A failed fetch or body read: the caller's abort as it is, anything else a retryable {@link UnavailableError}. */
function networkError(request: Request, err: unknown): unknown {
  if (request.signal.aborted) return err;
  const cause = err instanceof Error ? err : new Error(String(err));
  const why = cause.cause instanceof Error ? `${cause.message} (${cause.cause.message})` : cause.message;
  return new UnavailableError(`network error: ${why}`, { cause: err });
}

/** `promise`, or the signal's reason as soon as it aborts (the promise itself runs on, for others waiting on it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // Others may be waiting on the promise; this caller only must not leave its failure unhandled.
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
