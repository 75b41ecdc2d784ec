import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { Logger } from "@baton/core";
import { canonicalJson } from "@baton/wire/portarium";
import { KeyedMutex } from "../keyed-mutex.js";
import type { AnyRequest, AnyResponse } from "../module.js";
import { logRequest, REQUEST_ID_HEADER, requestIdOf, stopwatch } from "../request-log.js";
import { serveEventStream } from "./event-stream.js";
import { HttpProblem, malformedQueryParams, problems, readJsonBody, send } from "./http.js";
import type { IdempotencyCache } from "./idempotency.js";
import type { PortariumClaims } from "./jwt.js";
import type { JsonReply, OperationRequest, Reply } from "./operation.js";
import type { PortariumRouter, RoutedOperation } from "./router.js";
import { grants, insufficientScope } from "./scopes.js";
import type { TokenIssuer } from "./tokens.js";

/** What the server remembers of a request made with an `Idempotency-Key`. */
export interface IdempotentResult {
  /** Hash of the request's path and canonical body: the same key with another request is refused. */
  fingerprint: string;
  /** The answer the first request got. */
  response: { status: number; body: unknown };
}

/** Options of a {@link PortariumRestHandler}. */
export interface PortariumRestHandlerOptions {
  router: PortariumRouter;
  tokens: TokenIssuer;
  idempotency: IdempotencyCache<IdempotentResult>;
  logger: Logger;
  /** Check every response against the document; a nonconforming one becomes a 500. */
  validateResponses: boolean;
  /** How often a quiet event stream gets a keep-alive comment, in ms. */
  sseKeepAliveMs: number;
  /** The server's shutdown signal: open event streams end when it aborts. */
  shutdownSignal?: AbortSignal | undefined;
}

const MUTATING = new Set(["POST", "PATCH", "PUT", "DELETE"]);

const header = (req: AnyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The request target as a URL. A path is appended to the origin rather than resolved
 * against it: `//x/v1/...` is a path, not a host (resolving it would misroute it, or throw
 * for `//%00`). Answers undefined for a target that is no URL at all.
 */
function requestUrl(target: string): URL | undefined {
  try {
    return new URL(target.startsWith("/") ? `http://localhost${target}` : target);
  } catch {
    return undefined;
  }
}

const isEventStream = (r: Reply<unknown>): r is Extract<Reply<unknown>, { subscribe: unknown }> => "subscribe" in r;

/**
 * Serves Portarium's REST requests: routes them through the operation table (404 for an
 * unknown path, 405 with `Allow` for a known path with another method), authenticates the
 * bearer token (401), its workspace (403) and its scope (403 `insufficient_scope`), validates parameters and the JSON body
 * against the document (400 with per-field `errors`), replays `Idempotency-Key`d writes,
 * runs the operation's handler and answers JSON, no content, or server-sent events. Every
 * refusal is `application/problem+json`, and every answer carries `x-request-id` (the
 * caller's, or a new one). Each request is logged at info level when its answer ends
 * (operation id, HTTP status, ms, request id).
 */
export class PortariumRestHandler {
  readonly #o: PortariumRestHandlerOptions;
  readonly #mutex = new KeyedMutex();

  constructor(options: PortariumRestHandlerOptions) {
    this.#o = options;
  }

  /** Serves a request whose path starts with `/v1/`; returns false for any other. */
  async handle(req: AnyRequest, res: AnyResponse): Promise<boolean> {
    const url = requestUrl(req.url ?? "/");
    if (!url?.pathname.startsWith("/v1/")) return false;
    const requestId = requestIdOf(header(req, REQUEST_ID_HEADER));
    const elapsed = stopwatch();
    // The operation, once routed: the log line names it (or the method and path).
    const seen: { operation?: string } = {};
    res.once("close", () =>
      logRequest(this.#o.logger, {
        protocol: "rest",
        method: seen.operation ?? `${req.method ?? "GET"} ${url.pathname}`,
        status: res.statusCode,
        ms: elapsed(),
        requestId,
      }),
    );
    try {
      await this.#serve(req, res, url, requestId, seen);
    } catch (err) {
      const p = err instanceof HttpProblem ? err : new HttpProblem(500, "internal", "internal error");
      if (!(err instanceof HttpProblem)) this.#o.logger.error("portarium request failed", { error: String(err) });
      if (res.headersSent) res.end();
      else send(res, p.status, p.body(), { ...p.headers, "x-request-id": requestId }, "application/problem+json");
    }
    return true;
  }

  async #serve(
    req: AnyRequest,
    res: AnyResponse,
    url: URL,
    requestId: string,
    seen: { operation?: string },
  ): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const found = this.#o.router.match(method, url.pathname);
    if (found.kind === "none") throw problems.notFound(`route ${method} ${url.pathname}`);
    if (found.kind === "malformed") {
      throw problems.invalid(found.detail, { [`path.${found.param}`]: ["is not valid percent-encoding"] });
    }
    if (found.kind === "method-not-allowed") {
      throw new HttpProblem(405, "method-not-allowed", `${method} is not allowed on ${url.pathname}`, {
        headers: { allow: found.allowed.join(", ") },
      });
    }
    const { op, pathParams } = found;
    seen.operation = op.operationId;
    const claims = op.secured ? await this.#o.tokens.authenticate(header(req, "authorization")) : undefined;
    if (claims && pathParams.workspaceId !== undefined && pathParams.workspaceId !== claims.workspace) {
      throw problems.forbidden(`the token is scoped to workspace ${claims.workspace}, not ${pathParams.workspaceId}`);
    }
    if (claims && op.scope !== undefined && !grants(claims.scope, op.scope)) {
      throw insufficientScope(op.scope, claims.scope ?? "");
    }
    // Parameters and body are checked together, so one 400 names every problem.
    const errors: Record<string, string[]> = {};
    const query = this.#parameters(req, url, op, pathParams, errors);
    const body = MUTATING.has(method) ? await readJsonBody(req) : undefined;
    this.#checkBody(op, body, errors);
    if (Object.keys(errors).length > 0) throw problems.invalid("the request does not match the API schema", errors);
    const origin = `${(req.socket as TLSSocket | undefined)?.encrypted ? "https" : "http"}://${req.headers.host ?? header(req, ":authority") ?? "localhost"}`;
    const request: OperationRequest<unknown> = {
      // Validated against this operation's schemas above, so they have its types.
      path: pathParams as never,
      query: query as never,
      body: body as never,
      claims,
      userId: claims?.sub ?? "anonymous",
      origin,
    };

    const key = header(req, "idempotency-key");
    if (key !== undefined && MUTATING.has(method) && claims) {
      const result = await this.#idempotent(
        op,
        claims,
        key,
        `${url.pathname}\u0000${canonicalJson(body ?? null)}`,
        () => op.handler(request),
      );
      return this.#reply(res, op, result.response, requestId, result.replayed ? { "idempotent-replayed": "true" } : {});
    }
    const reply = await op.handler(request);
    if (isEventStream(reply)) {
      serveEventStream(req, res, reply, {
        requestId,
        keepAliveMs: this.#o.sseKeepAliveMs,
        shutdownSignal: this.#o.shutdownSignal,
      });
      return;
    }
    return this.#reply(res, op, reply, requestId, reply.headers);
  }

  /** Checks (and coerces) the operation's parameters, adding problems to `errors`; answers the query parameters. */
  #parameters(
    req: AnyRequest,
    url: URL,
    op: RoutedOperation,
    pathParams: Record<string, string>,
    errors: Record<string, string[]>,
  ): Record<string, string | number | boolean> {
    const query: Record<string, string | number | boolean> = {};
    const malformed = new Set(malformedQueryParams(url.search));
    for (const name of malformed) errors[`query.${name}`] = ["is not valid percent-encoding"];
    for (const p of op.parameters) {
      if (p.in === "query" && malformed.has(p.name)) continue;
      const raw =
        p.in === "path"
          ? pathParams[p.name]
          : p.in === "query"
            ? (url.searchParams.get(p.name) ?? undefined)
            : header(req, p.name.toLowerCase());
      if (raw === undefined) {
        if (p.required) errors[`${p.in}.${p.name}`] = ["is required"];
        continue;
      }
      let value: string | number | boolean = raw;
      if ((p.type === "integer" || p.type === "number") && /^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
      else if (p.type === "boolean" && (raw === "true" || raw === "false")) value = raw === "true";
      this.#o.router.check(p.schemaPointer, value, `${p.in}.${p.name}`, errors);
      if (p.in === "query") query[p.name] = value;
    }
    return query;
  }

  /** Checks the JSON body against the operation's schema, adding problems to `errors`. */
  #checkBody(op: RoutedOperation, body: unknown, errors: Record<string, string[]>): void {
    if (!op.bodyPointer) return;
    if (body === undefined) {
      if (op.bodyRequired) errors["/"] = ["a JSON request body is required"];
    } else this.#o.router.check(op.bodyPointer, body, "", errors);
  }

  /**
   * Runs a write once per workspace, caller, operation and `Idempotency-Key`: the same key
   * with the same request replays the first answer (refusals included, so a retry sees what
   * the first attempt saw), with another request it is a 422.
   */
  async #idempotent(
    op: RoutedOperation,
    claims: PortariumClaims,
    key: string,
    request: string,
    run: () => Reply<unknown> | Promise<Reply<unknown>>,
  ): Promise<{ response: IdempotentResult["response"]; replayed: boolean }> {
    const slot = `${claims.workspace}\u0000${claims.sub}\u0000${op.operationId}\u0000${key}`;
    const fingerprint = createHash("sha256").update(request).digest("hex");
    return this.#mutex.run(slot, async () => {
      const seen = this.#o.idempotency.get(slot);
      if (seen) {
        if (seen.fingerprint !== fingerprint) {
          throw new HttpProblem(
            422,
            "idempotency-key-reused",
            `Idempotency-Key ${key} was already used with a different request`,
          );
        }
        return { response: seen.response, replayed: true };
      }
      let response: IdempotentResult["response"];
      try {
        const reply = await run();
        if (isEventStream(reply)) throw new Error(`${op.operationId} answered a stream to a write`);
        response = { status: reply.status, body: reply.body };
      } catch (err) {
        if (!(err instanceof HttpProblem) || err.status >= 500) throw err;
        response = { status: err.status, body: err.body() };
      }
      this.#o.idempotency.set(slot, { fingerprint, response });
      return { response, replayed: false };
    });
  }

  #reply(
    res: AnyResponse,
    op: RoutedOperation,
    reply: Pick<JsonReply<unknown>, "status" | "body">,
    requestId: string,
    headers: Record<string, string> = {},
  ): void {
    const { status, body } = reply;
    const contentType = status >= 400 ? "application/problem+json" : "application/json";
    if (this.#o.validateResponses) {
      const issues = this.#o.router.validateResponse(
        op.operationId,
        status,
        body === undefined ? undefined : contentType,
        body,
      );
      if (issues.length > 0) {
        this.#o.logger.error("portarium response does not match the OpenAPI document", {
          operationId: op.operationId,
          status,
          issues,
        });
        const p = new HttpProblem(
          500,
          "nonconforming-response",
          `response of ${op.operationId} broke the schema: ${issues.join(" | ")}`,
        );
        send(res, 500, p.body(), { "x-request-id": requestId }, "application/problem+json");
        return;
      }
    }
    send(res, status, body, { ...headers, "x-request-id": requestId }, contentType);
  }
}
