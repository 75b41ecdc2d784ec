// Types only: connection.ts is the Node build's, and nothing of it is loaded at run time here.
import type { FetchLike } from "./connection.js";

/** A request whose body is already in memory (a REST client's JSON call). */
export interface ExchangeRequest {
  /** The HTTP method. */
  method: string;
  /** The absolute URL, on the connection's address. */
  url: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** The body, if any. */
  body?: string | Uint8Array;
  /** Aborts the request; the exchange then fails with the signal's reason. */
  signal?: AbortSignal;
}

/** A response read whole. */
export interface ExchangeResponse {
  /** The HTTP status. */
  status: number;
  /** Response headers, lower-case names; a repeated header is an array. */
  headers: Record<string, string | string[] | undefined>;
  /** The whole body (empty when there is none). */
  body: Uint8Array;
}

/**
 * One HTTP request and its whole response, with no web `Request`/`Response` in between
 * where the platform allows (the Node build's HTTP/1.1 path goes straight to its socket
 * pool). Fails like `fetch`: a `TypeError("fetch failed")` with the cause when the
 * connection or the body read fails, the signal's reason when aborted.
 */
export type Exchange = (request: ExchangeRequest) => Promise<ExchangeResponse>;

/** An {@link Exchange} over a `fetch`: the path of platforms whose REST transport is `fetch`. */
export function exchangeOverFetch(fetch: FetchLike): Exchange {
  return async ({ method, url, headers, body, signal }) => {
    const request = new Request(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(signal ? { signal } : {}),
    });
    const res = await fetch(request);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const out: Record<string, string | string[]> = {};
    res.headers.forEach((value, key) => {
      out[key] = value;
    });
    return { status: res.status, headers: out, body: bytes };
  };
}
