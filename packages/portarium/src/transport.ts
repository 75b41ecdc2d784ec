import { backoffDelay, type Logger, parseRetryAfter, type RetryPolicy, sleep, UnavailableError } from "@baton/core";
import type { TokenSource } from "./auth.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The workspace a request is for, read from its `/v1/workspaces/{id}` path. */
export function workspaceOfUrl(url: string): string | undefined {
  const m = /\/v1\/workspaces\/([^/?#]+)/.exec(new URL(url).pathname);
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]);
}

/** What {@link createTransport} needs. */
export interface TransportOptions {
  /** The underlying fetch (global `fetch`, or an HTTP/2 one). */
  fetch: (request: Request) => Promise<Response>;
  /** Where bearer tokens come from. */
  tokens: TokenSource;
  /** The workspace of calls whose path names none (`GET /v1/workspaces`). */
  defaultWorkspaceId: string | undefined;
  /** Retry policy. */
  retry: RetryPolicy;
  /** Where retries are logged. */
  logger: Logger;
}

/**
 * The `fetch` the openapi-fetch client uses. Per attempt it clones the request and sets
 * `Authorization: Bearer`; it retries transient failures (network errors, 502/503/504, and
 * 429 with `Retry-After`) of safe methods, and of POSTs only when they carry an
 * `Idempotency-Key` (the same request, so the same key, is sent every time), waiting as
 * `Retry-After` says or with exponential backoff; and after a 401 it asks a refreshable
 * token source for a new token and sends the request once more.
 */
export function createTransport(options: TransportOptions): (request: Request) => Promise<Response> {
  const { tokens, retry, logger } = options;
  return async (request: Request): Promise<Response> => {
    const retryable = SAFE_METHODS.has(request.method) || request.headers.has("idempotency-key");
    const maxAttempts = retryable ? retry.maxAttempts : 1;
    const workspaceId = workspaceOfUrl(request.url) ?? options.defaultWorkspaceId;
    // The token endpoint takes credentials in its body, never a bearer token.
    const anonymous = new URL(request.url).pathname.endsWith("/v1/auth/token");
    let refreshed = false;
    let forceRefresh = false;
    for (let attempt = 1; ; attempt++) {
      const req = request.clone();
      const token = anonymous ? undefined : await tokens.get(workspaceId, forceRefresh);
      forceRefresh = false;
      if (token !== undefined) req.headers.set("authorization", `Bearer ${token}`);
      let res: Response;
      try {
        res = await options.fetch(req);
      } catch (err) {
        if (request.signal.aborted) throw err;
        const cause = err instanceof Error ? err : new Error(String(err));
        const unavailable = new UnavailableError(`network error: ${cause.message}`, { cause: err });
        if (attempt >= maxAttempts) throw unavailable;
        const delay = backoffDelay(attempt, retry);
        logger.warn("retrying request", { method: request.method, url: request.url, attempt, delayMs: delay });
        await sleep(delay, request.signal);
        continue;
      }
      if (res.status === 401 && !anonymous && tokens.refreshable && !refreshed) {
        refreshed = true;
        forceRefresh = true;
        await res.body?.cancel();
        attempt--;
        continue;
      }
      const retryAfterMs = parseRetryAfter(res.headers);
      const transient =
        res.status === 502 ||
        res.status === 503 ||
        res.status === 504 ||
        (res.status === 429 && retryAfterMs !== undefined);
      if (!transient || attempt >= maxAttempts) return res;
      const delay = backoffDelay(attempt, retry, retryAfterMs);
      logger.warn("retrying request", {
        method: request.method,
        url: request.url,
        attempt,
        status: res.status,
        delayMs: delay,
      });
      await res.body?.cancel();
      await sleep(delay, request.signal);
    }
  };
}
