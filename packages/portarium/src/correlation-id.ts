import type { Middleware } from "openapi-fetch";

/**
 * Gives every request an `x-correlation-id` (a UUID, or the `x-correlation-id` or
 * `x-request-id` the caller set), and the same value as `x-request-id`. It is set once per
 * logical call, before retries, so every attempt carries it and logs tie them together;
 * Portarium echoes it, and errors carry it as `requestId`.
 */
export const correlationIdMiddleware: Middleware = {
  onRequest({ request }) {
    const id = correlationIdOf((name) => request.headers.get(name) ?? undefined);
    request.headers.set("x-correlation-id", id);
    request.headers.set("x-request-id", id);
    return request;
  },
};

/** The correlation id of a request with these headers: its `x-correlation-id`, else its `x-request-id`, else a new UUID. */
export function correlationIdOf(header: (name: string) => string | undefined): string {
  return header("x-correlation-id") ?? header("x-request-id") ?? crypto.randomUUID();
}
