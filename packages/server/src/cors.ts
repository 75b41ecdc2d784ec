import { Code, cors as connectCors } from "@connectrpc/connect";
import type { Handler } from "./listen.js";
import { refuse } from "./refusal.js";

/** Methods a browser may use: Connect and gRPC-Web's (POST, GET) and the REST routes'. */
const ALLOWED_METHODS = [...new Set([...connectCors.allowedMethods, "PUT", "PATCH", "DELETE"])];

/** Headers a page may send: Connect's and gRPC-Web's, auth, and the Portarium REST ones. */
const ALLOWED_HEADERS = [
  ...connectCors.allowedHeaders,
  "authorization",
  "idempotency-key",
  "x-correlation-id",
  "x-request-id",
  "last-event-id",
].map((h) => h.toLowerCase());

/** Headers a page may read: gRPC status and details (gRPC-Web), request ids, Retry-After. */
const EXPOSED_HEADERS = [
  ...connectCors.exposedHeaders,
  "x-request-id",
  "x-correlation-id",
  "retry-after",
  "www-authenticate",
].map((h) => h.toLowerCase());

/** How long a browser may cache a preflight answer, in seconds. */
const MAX_AGE_SECONDS = 7200;

/**
 * Checks and normalizes the allowed origins (`--cors-origin`): each `*` (any origin) or an
 * origin `scheme://host[:port]`, without path, query or credentials.
 *
 * @returns the origins as browsers send them in `Origin` (lowercase, default port dropped).
 * @throws {Error} on anything else, naming it.
 */
export function parseCorsOrigins(origins: readonly string[]): string[] {
  return origins.map((given) => {
    const value = given.trim();
    if (value === "*") return value;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    const bare =
      url &&
      url.pathname === "/" &&
      !value.endsWith("//") &&
      !url.search &&
      !url.hash &&
      !url.username &&
      !url.password;
    if (!url || !/^https?:$/.test(url.protocol) || !bare || /[?#]/.test(value)) {
      throw new Error(
        `--cors-origin wants "*" or an origin such as https://app.example.com or http://localhost:3000, got ${given}`,
      );
    }
    return url.origin;
  });
}

/**
 * Wraps the server's handler with CORS for the allowed `origins` (normalized by
 * {@link parseCorsOrigins}; `*` allows any). For every protocol alike (gRPC-Web, Connect,
 * REST):
 *
 * - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
 *   allowed origin is answered 204 with the allowed methods and headers (Connect's,
 *   gRPC-Web's, `authorization`, the Portarium REST headers, and whatever else the
 *   preflight asks for); from any other origin, 403 (problem+json) without CORS headers;
 * - any other request from an allowed origin gets `Access-Control-Allow-Origin` and
 *   `Access-Control-Expose-Headers` (grpc-status, grpc-message, grpc-status-details-bin,
 *   x-request-id, ...), so the page can read the answer and its status.
 *
 * With no origins it returns `handler` itself: no CORS headers at all.
 */
export function withCors(handler: Handler, origins: readonly string[]): Handler {
  if (origins.length === 0) return handler;
  const any = origins.includes("*");
  const allowed = new Set(origins);
  const allowOrigin = (origin: string | undefined): string | undefined =>
    origin === undefined ? undefined : any ? "*" : allowed.has(origin) ? origin : undefined;
  return (req, res) => {
    const origin = header(req.headers.origin);
    const allow = allowOrigin(origin);
    const requestedMethod = header(req.headers["access-control-request-method"]);
    if (req.method === "OPTIONS" && origin !== undefined && requestedMethod !== undefined) {
      if (allow === undefined) {
        refuse(req, res, {
          code: Code.PermissionDenied,
          status: 403,
          title: "Forbidden",
          detail: `origin ${origin} is not allowed (baton-server --cors-origin)`,
        });
        return;
      }
      const requested = (header(req.headers["access-control-request-headers"]) ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(h));
      res.writeHead(204, {
        "access-control-allow-origin": allow,
        "access-control-allow-methods": ALLOWED_METHODS.join(", "),
        "access-control-allow-headers": [...new Set([...ALLOWED_HEADERS, ...requested])].join(", "),
        "access-control-max-age": String(MAX_AGE_SECONDS),
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        "content-length": "0",
      });
      res.end();
      return;
    }
    if (allow !== undefined) {
      res.setHeader("access-control-allow-origin", allow);
      res.setHeader("access-control-expose-headers", EXPOSED_HEADERS.join(", "));
    }
    // The answer depends on Origin whenever origins are listed one by one.
    if (!any) res.setHeader("vary", "Origin");
    handler(req, res);
  };
}

/** A request header's single value. */
function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
