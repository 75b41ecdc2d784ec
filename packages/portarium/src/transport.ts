import {
  type Exchange,
  type ExchangeResponse,
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
  return async (request: Request): Promise<Response> => {
    const stream = request.headers.get("accept")?.includes("text/event-stream") ?? false;
    const plan = planOf(options, request.method, request.url, request.headers.has("idempotency-key"), stream);
    const body = request.body !== null && plan.resend ? await request.arrayBuffer() : undefined;
    // Without a body the same Request can be sent again; with one, each attempt gets a copy of the bytes.
    const fresh = (): Request => (body === undefined ? request : new Request(request, { body }));
    return attempts(options, plan, request.signal, {
      async send(token) {
        const req = fresh();
        if (token !== undefined) req.headers.set("authorization", `Bearer ${token}`);
        try {
          return await options.fetch(req);
        } catch (err) {
          throw networkError(request.signal, err);
        }
      },
      status: (res) => res.status,
      headers: (res) => res.headers,
      discard: async (res) => {
        await res.body?.cancel();
      },
      async settle(res) {
        // An event stream is never read whole, whether or not the request said it wanted one.
        if (stream || res.body === null || res.headers.get("content-type")?.startsWith("text/event-stream")) return res;
        // The connection's own fetch read it whole already: no second copy.
        if (isBodyInMemory(res)) return res;
        let bytes: ArrayBuffer;
        try {
          bytes = await res.arrayBuffer();
        } catch (err) {
          throw networkError(request.signal, err);
        }
        return new Response(bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
      },
    });
  };
}

/**
 * The same auth and retries as {@link createTransport}, for a request whose body is in
 * memory, over a connection's {@link Exchange} (no web `Request` or `Response`): what the
 * resources' JSON calls go through. The response is read whole inside each attempt.
 */
export function createExchangeTransport(options: Omit<TransportOptions, "fetch">, exchange: Exchange): Exchange {
  return (request) => {
    const plan = planOf(options, request.method, request.url, request.headers["idempotency-key"] !== undefined, false);
    return attempts(options, plan, request.signal, {
      async send(token) {
        let req = request;
        if (token !== undefined) {
          // Copies built with Object.assign: a property added to a spread copy is slow on Node 20.
          const headers: Record<string, string> = Object.assign({}, request.headers);
          headers.authorization = `Bearer ${token}`;
          req = Object.assign({}, request);
          req.headers = headers;
        }
        try {
          return await exchange(req);
        } catch (err) {
          throw networkError(request.signal, err);
        }
      },
      status: (res) => res.status,
      headers: (res) => headersOf(res.headers),
      discard: () => Promise.resolve(),
      settle: (res) => Promise.resolve(res),
    });
  };
}

/** A response's headers as web `Headers` (for errors: built only when one is made). */
export function headersOf(raw: ExchangeResponse["headers"]): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else headers.set(k, v);
  }
  return headers;
}

/** What a request's method, URL and headers decide about its attempts. */
interface Plan {
  /** The retry policy: the connection's, or one attempt. */
  policy: RetryPolicy;
  /** The token endpoint: no bearer token. */
  anonymous: boolean;
  /** Whether a 401 asks the token source for a new token and sends once more. */
  refreshable: boolean;
  /** The workspace whose token the request carries. */
  workspaceId: string | undefined;
  /** Whether the request may be sent more than once (its body must then be kept). */
  resend: boolean;
  /** For the retry log. */
  logFields: { method: string; url: string };
}

function planOf(
  options: Omit<TransportOptions, "fetch">,
  method: string,
  url: string,
  idempotencyKey: boolean,
  stream: boolean,
): Plan {
  const safe = SAFE_METHODS.has(method) || idempotencyKey;
  const policy = safe && !stream ? options.retry : { ...options.retry, maxAttempts: 1 };
  // The token endpoint takes credentials in its body, never a bearer token. (The URL is parsed once.)
  const pathname = new URL(url).pathname;
  const anonymous = pathname.endsWith("/v1/auth/token");
  const refreshable = !anonymous && options.tokens.refreshable;
  return {
    policy,
    anonymous,
    refreshable,
    workspaceId: workspaceOfPath(pathname) ?? options.defaultWorkspaceId,
    resend: policy.maxAttempts > 1 || refreshable,
    logFields: { method, url },
  };
}

/** How {@link attempts} sends one attempt and reads what it answered. */
interface AttemptIo<R> {
  /** Sends the request with this bearer token (none for the token endpoint). */
  send(token: string | undefined): Promise<R>;
  /** The response's status. */
  status(res: R): number;
  /** The response's headers (`Retry-After`, the request id). */
  headers(res: R): Headers;
  /** Drops a response that will not be answered. */
  discard(res: R): Promise<void>;
  /** The response as answered: its body read whole unless it is a stream. */
  settle(res: R): Promise<R>;
}

/** The attempts of one request: bearer token, one refresh after a 401, retries of transient failures. */
function attempts<R>(
  options: Omit<TransportOptions, "fetch">,
  plan: Plan,
  signal: AbortSignal | undefined,
  io: AttemptIo<R>,
): Promise<R> {
  const { tokens } = options;
  const send = async (forceRefresh: boolean): Promise<R> => {
    const token = plan.anonymous ? undefined : await untilAborted(tokens.get(plan.workspaceId, forceRefresh), signal);
    return io.send(token);
  };
  let refreshed = false;
  return withRetries(
    async (attempt) => {
      let res = await send(false);
      if (io.status(res) === 401 && plan.refreshable && !refreshed) {
        refreshed = true;
        await io.discard(res);
        res = await send(true);
      }
      const status = io.status(res);
      const transient = TRANSIENT_STATUSES.has(status) || status === 429;
      if (transient && attempt < plan.policy.maxAttempts) {
        const err = problemToError(status, undefined, io.headers(res));
        if (isRetryableError(err, plan.policy)) {
          await io.discard(res);
          throw err;
        }
      }
      return io.settle(res);
    },
    {
      policy: plan.policy,
      logger: options.logger ?? silentLogger,
      ...(signal ? { signal } : {}),
      logFields: plan.logFields,
      ...(options.sleep ? { sleep: options.sleep } : {}),
    },
  );
}

/** A failed fetch or body read: the caller's abort as it is, anything else a retryable {@link UnavailableError}. */
function networkError(signal: AbortSignal | undefined, err: unknown): unknown {
  if (signal?.aborted) return err;
  const cause = err instanceof Error ? err : new Error(String(err));
  const why = cause.cause instanceof Error ? `${cause.message} (${cause.cause.message})` : cause.message;
  return new UnavailableError(`network error: ${why}`, { cause: err });
}

/** `promise`, or the signal's reason as soon as it aborts (the promise itself runs on, for others waiting on it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
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
