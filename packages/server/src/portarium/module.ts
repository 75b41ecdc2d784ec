import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { canonicalJson } from "@baton/wire/portarium";
import { safeEqual } from "../auth.js";
import { KeyedMutex } from "../keyed-mutex.js";
import type { AnyRequest, AnyResponse, ModuleContext, ModuleFactory, ServiceModule } from "../module.js";
import { HttpProblem, problems, readJsonBody, send } from "./http.js";
import { IdempotencyCache } from "./idempotency.js";
import { JWT_ISSUER, JwtError, type PortariumClaims, signJwt, verifyJwt } from "./jwt.js";
import { OpenApiRouter } from "./openapi.js";
import {
  DEFAULT_INVOCATION_DURATION_MS,
  type PortariumRequest,
  type PortariumResponse,
  PortariumService,
} from "./service.js";
import { MemoryPortariumStore, type PortariumStore } from "./store.js";

/** A service account allowed to exchange credentials for tokens. */
export interface ServiceAccount {
  /** Client id (the token's `sub`). */
  clientId: string;
  /** Client secret. */
  clientSecret: string;
  /** Workspaces it may get tokens for. */
  workspaces: string[];
}

/** The Portarium module: the REST control plane, routed and validated by the OpenAPI document. */
export interface PortariumModule extends ServiceModule {
  /** The rules. */
  readonly service: PortariumService;
  /** The state. */
  readonly store: PortariumStore;
  /** The router/validator built from the OpenAPI document (tests validate responses with it). */
  readonly router: OpenApiRouter;
  /** The remembered `Idempotency-Key`s (bounded by `idempotencyMaxEntries`). */
  readonly idempotency: { readonly size: number };
  /** Signs a token directly (tests use it for expired or foreign tokens). */
  signToken(claims: Partial<PortariumClaims> & { sub: string; workspace: string }): string;
}

/**
 * Parses `portarium.serviceAccounts`: one `ID:SECRET:WS1[,WS2]` per line (the secret may
 * itself contain colons).
 *
 * @throws {Error} on a malformed line.
 */
export function parseServiceAccounts(text: string | undefined): ServiceAccount[] {
  const out: ServiceAccount[] = [];
  for (const line of (text ?? "").split("\n").map((l) => l.trim())) {
    if (line === "") continue;
    const first = line.indexOf(":");
    const last = line.lastIndexOf(":");
    if (first <= 0 || last <= first) throw new Error(`service account wants ID:SECRET:WS[,WS], got ${line}`);
    const workspaces = line
      .slice(last + 1)
      .split(",")
      .map((w) => w.trim())
      .filter(Boolean);
    if (workspaces.length === 0) throw new Error(`service account ${line.slice(0, first)} names no workspace`);
    out.push({ clientId: line.slice(0, first), clientSecret: line.slice(first + 1, last), workspaces });
  }
  return out;
}

/** The module's numeric settings (`portarium.<name>`). */
export interface PortariumSettings {
  /** Lifetime of issued tokens, in seconds. */
  tokenTtlSeconds: number;
  /** How long a machine invocation runs from acceptance to completion, in ms (0: at once). */
  invocationDurationMs: number;
  /** How long an `Idempotency-Key` is remembered, in ms. */
  idempotencyTtlMs: number;
  /** How many `Idempotency-Key`s are remembered at most (the oldest are forgotten first). */
  idempotencyMaxEntries: number;
  /** How often an open event stream gets a `: keep-alive` comment, in ms, so proxies keep it open. */
  sseKeepAliveMs: number;
}

/** Defaults of {@link PortariumSettings}. */
export const DEFAULT_PORTARIUM_SETTINGS: Readonly<PortariumSettings> = {
  tokenTtlSeconds: 3600,
  invocationDurationMs: DEFAULT_INVOCATION_DURATION_MS,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  idempotencyMaxEntries: 10_000,
  sseKeepAliveMs: 15_000,
};

/**
 * Reads the module's numeric settings, each `portarium.<name>` or its default.
 *
 * @throws {Error} when a value is not a number in range: `invocationDurationMs` must be
 *   0 or more, `idempotencyMaxEntries` a positive integer, the others positive.
 */
export function portariumSettings(settings: ReadonlyMap<string, string>): PortariumSettings {
  const read = (key: keyof PortariumSettings, ok: (n: number) => boolean, want: string): number => {
    const raw = settings.get(`portarium.${key}`);
    if (raw === undefined) return DEFAULT_PORTARIUM_SETTINGS[key];
    const n = raw.trim() === "" ? Number.NaN : Number(raw);
    if (!Number.isFinite(n) || !ok(n)) throw new Error(`portarium.${key} must be ${want}, got ${raw}`);
    return n;
  };
  return {
    tokenTtlSeconds: read("tokenTtlSeconds", (n) => n > 0, "a positive number"),
    invocationDurationMs: read("invocationDurationMs", (n) => n >= 0, "a number of ms, 0 or more"),
    idempotencyTtlMs: read("idempotencyTtlMs", (n) => n > 0, "a positive number of ms"),
    idempotencyMaxEntries: read("idempotencyMaxEntries", (n) => Number.isSafeInteger(n) && n > 0, "a positive integer"),
    sseKeepAliveMs: read("sseKeepAliveMs", (n) => n > 0, "a positive number of ms"),
  };
}

const MUTATING = new Set(["POST", "PATCH", "PUT", "DELETE"]);

interface IdempotentResult {
  fingerprint: string;
  response: PortariumResponse;
}

/**
 * Creates the Portarium module. Settings (`--set`, config file or dedicated flags):
 * - `portarium.serviceAccounts`: `ID:SECRET:WS[,WS]` per line; every workspace named exists.
 * - `portarium.jwtSecret`: HS256 secret (default: random per process).
 * - `portarium.tokenTtlSeconds`: lifetime of issued tokens (default 3600).
 * - `portarium.invocationDurationMs`: how long a machine invocation runs, from `accepted`
 *   through `running` to `completed` (default 1000).
 * - `portarium.idempotencyTtlMs` (default 24 h) and `portarium.idempotencyMaxEntries`
 *   (default 10000): how long, and how many, `Idempotency-Key`s are remembered.
 * - `portarium.sseKeepAliveMs`: how often an open event stream gets a `: keep-alive`
 *   comment, so idle proxies do not cut it (default 15000).
 * - `portarium.validateResponses`: `true` checks every response against the document and
 *   answers 500 instead of a nonconforming response (tests turn it on).
 *
 * Auth: `POST /v1/auth/token` answers 401 for an unknown client or wrong secret and 403
 * when the account may not use the workspace. Other operations need
 * `Authorization: Bearer <jwt>`: missing, malformed, badly signed or expired tokens get 401
 * with `WWW-Authenticate: Bearer`; a token of workspace A used on workspace B gets 403.
 *
 * Validation: parameters and JSON bodies are checked against the document; failures are
 * 400 problem+json whose `errors` map keys are `path.<name>`, `query.<name>`,
 * `header.<name>` for parameters and JSON pointers (`/workflowId`) into the body.
 *
 * Idempotency: every POST/PATCH/DELETE with an `Idempotency-Key` header (declared on
 * `decideApproval` and `executeApprovedAgentAction`) is remembered per workspace, caller
 * and operation: the same key with the same body replays the first answer (with
 * `Idempotent-Replayed: true`), the same key with another body is a 422. A key is
 * remembered for `idempotencyTtlMs` from its first use (then it may be used again, with any
 * body), and at most `idempotencyMaxEntries` keys are (the oldest are forgotten first).
 *
 * Streams: `streamMachineInvocation` sends the invocation's history, then live events, as
 * server-sent events whose `id` is the event's 1-based position, and ends after the
 * terminal event. A `Last-Event-ID` header resumes after that event.
 */
export const createPortariumModule: ModuleFactory = (ctx: ModuleContext): PortariumModule => {
  const settings = ctx.options.settings;
  const accounts = parseServiceAccounts(settings.get("portarium.serviceAccounts"));
  const secret = settings.get("portarium.jwtSecret") ?? randomBytes(32).toString("base64url");
  const numbers = portariumSettings(settings);
  const ttl = numbers.tokenTtlSeconds;
  const validateResponses = settings.get("portarium.validateResponses") === "true";
  const store = new MemoryPortariumStore();
  const service = new PortariumService(store, { invocationDurationMs: numbers.invocationDurationMs });
  const router = new OpenApiRouter();
  const idempotency = new IdempotencyCache<IdempotentResult>({
    ttlMs: numbers.idempotencyTtlMs,
    maxEntries: numbers.idempotencyMaxEntries,
  });
  const mutex = new KeyedMutex();
  for (const a of accounts) for (const w of a.workspaces) service.ensureWorkspace(w);

  const signToken: PortariumModule["signToken"] = (claims) => {
    const iat = Math.floor(Date.now() / 1000);
    return signJwt({ iss: JWT_ISSUER, iat, exp: iat + ttl, jti: randomUUID(), ...claims }, secret);
  };

  const issueToken = (body: { clientId: string; clientSecret: string; workspaceId: string; scope?: string }) => {
    const account = accounts.find((a) => a.clientId === body.clientId);
    if (!account || !safeEqual(account.clientSecret, body.clientSecret)) {
      throw problems.unauthorized("unknown client or wrong secret");
    }
    if (!account.workspaces.includes(body.workspaceId)) {
      throw problems.forbidden(`client ${body.clientId} may not use workspace ${body.workspaceId}`);
    }
    const accessToken = signToken({
      sub: account.clientId,
      workspace: body.workspaceId,
      ...(body.scope ? { scope: body.scope } : {}),
    });
    return { accessToken, tokenType: "Bearer", expiresIn: ttl, workspaceId: body.workspaceId };
  };

  const authenticate = (req: AnyRequest): PortariumClaims => {
    const header = req.headers.authorization;
    const m = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m?.[1]) throw problems.unauthorized("missing bearer token: send Authorization: Bearer <token>");
    try {
      return verifyJwt(m[1], secret);
    } catch (err) {
      throw problems.unauthorized(err instanceof JwtError ? `invalid token: ${err.message}` : "invalid token");
    }
  };

  async function serve(req: AnyRequest, res: AnyResponse, url: URL, requestId: string): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const found = router.match(method, url.pathname);
    if (found.kind === "none") throw problems.notFound(`route ${method} ${url.pathname}`);
    if (found.kind === "method-not-allowed") {
      throw new HttpProblem(405, "method-not-allowed", `${method} is not allowed on ${url.pathname}`, {
        headers: { allow: found.allowed.join(", ") },
      });
    }
    const { op, pathParams } = found;
    const claims = op.secured ? authenticate(req) : undefined;
    if (claims && pathParams.workspaceId !== undefined && pathParams.workspaceId !== claims.workspace) {
      throw problems.forbidden(`the token is scoped to workspace ${claims.workspace}, not ${pathParams.workspaceId}`);
    }

    // Parameters: coerce query text to the schema's type, then validate each one.
    const errors: Record<string, string[]> = {};
    const query: Record<string, string | number | boolean> = {};
    for (const p of op.parameters) {
      let raw: string | undefined;
      if (p.in === "path") raw = pathParams[p.name];
      else if (p.in === "query") raw = url.searchParams.get(p.name) ?? undefined;
      else {
        const h = req.headers[p.name.toLowerCase()];
        raw = Array.isArray(h) ? h[0] : h;
      }
      if (raw === undefined) {
        if (p.required) errors[`${p.in}.${p.name}`] = ["is required"];
        continue;
      }
      let value: string | number | boolean = raw;
      if ((p.type === "integer" || p.type === "number") && /^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
      else if (p.type === "boolean" && (raw === "true" || raw === "false")) value = raw === "true";
      router.check(p.schemaPointer, value, `${p.in}.${p.name}`, errors);
      if (p.in === "query") query[p.name] = value;
    }
    let body: unknown;
    if (MUTATING.has(method)) body = await readJsonBody(req);
    if (op.bodyPointer) {
      if (body === undefined) {
        if (op.bodyRequired) errors["/"] = ["a JSON request body is required"];
      } else router.check(op.bodyPointer, body, "", errors);
    }
    if (Object.keys(errors).length > 0) throw problems.invalid("the request does not match the API schema", errors);

    if (op.operationId === "issueToken") {
      return reply(res, op.operationId, 200, issueToken(body as Parameters<typeof issueToken>[0]), requestId, {
        "cache-control": "no-store",
      });
    }
    const origin = `${(req.socket as TLSSocket | undefined)?.encrypted ? "https" : "http"}://${req.headers.host ?? req.headers[":authority"] ?? "localhost"}`;
    const preq: PortariumRequest = { operationId: op.operationId, claims, path: pathParams, query, body, origin };

    if (op.operationId === "streamMachineInvocation") {
      streamInvocation(req, res, pathParams, requestId);
      return;
    }

    const keyHeader = req.headers["idempotency-key"];
    const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
    if (key !== undefined && MUTATING.has(method) && claims) {
      const slot = `${claims.workspace}\u0000${claims.sub}\u0000${op.operationId}\u0000${key}`;
      const fingerprint = createHash("sha256")
        .update(`${url.pathname}\u0000${canonicalJson(body ?? null)}`)
        .digest("hex");
      const result = await mutex.run(slot, async () => {
        const seen = idempotency.get(slot);
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
        let response: PortariumResponse;
        try {
          response = await service.handle(preq);
        } catch (err) {
          // Remember refusals too, so a retry sees the same answer as the first attempt.
          if (!(err instanceof HttpProblem) || err.status >= 500) throw err;
          response = { status: err.status, body: err.body() };
        }
        idempotency.set(slot, { fingerprint, response });
        return { response, replayed: false };
      });
      return reply(res, op.operationId, result.response.status, result.response.body, requestId, {
        ...(result.replayed ? { "idempotent-replayed": "true" } : {}),
      });
    }
    const response = await service.handle(preq);
    return reply(res, op.operationId, response.status, response.body, requestId);
  }

  /** Serves `streamMachineInvocation` as server-sent events until the terminal event or the client leaves. */
  function streamInvocation(
    req: AnyRequest,
    res: AnyResponse,
    pathParams: Record<string, string>,
    requestId: string,
  ): void {
    const given = req.headers["last-event-id"];
    const lastEventId = (Array.isArray(given) ? given[0] : given)?.trim();
    if (lastEventId !== undefined && !/^\d{1,9}$/.test(lastEventId)) {
      throw problems.invalid("invalid Last-Event-ID", {
        "header.Last-Event-ID": ["must be the id of an event this stream sent"],
      });
    }
    const out = res as AnyResponse & {
      writeHead(s: number, h: Record<string, string>): void;
      write(s: string): boolean;
      flushHeaders(): void;
    };
    let started = false;
    let ended = false;
    let keepAlive: NodeJS.Timeout | undefined;
    const sink = {
      event(id: number, e: unknown) {
        if (ended) return;
        if (!started) begin();
        out.write(`id: ${id}\nevent: progress\ndata: ${JSON.stringify(e)}\n\n`);
      },
      end() {
        if (ended) return;
        ended = true;
        clearInterval(keepAlive);
        if (!started) begin();
        res.end();
      },
    };
    const begin = () => {
      started = true;
      out.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-request-id": requestId,
      });
      // A subscriber with nothing to catch up on still learns at once that it is subscribed.
      out.flushHeaders();
      // A comment now and then keeps proxies from cutting a quiet stream; clients skip it.
      if (ended) return;
      keepAlive = setInterval(() => out.write(": keep-alive\n\n"), numbers.sseKeepAliveMs);
      keepAlive.unref();
    };
    // Throws 404 before anything is written; the history is written synchronously.
    const unsubscribe = service.subscribeInvocation(
      pathParams.workspaceId ?? "",
      pathParams.machineId ?? "",
      pathParams.invocationId ?? "",
      Number(lastEventId ?? 0),
      sink,
    );
    if (!started) begin();
    if (ended) return;
    // A client that goes away (or a dropped connection) stops the subscription; nothing else holds it.
    res.once("close", () => {
      ended = true;
      clearInterval(keepAlive);
      unsubscribe();
    });
  }

  function reply(
    res: AnyResponse,
    operationId: string,
    status: number,
    body: unknown,
    requestId: string,
    headers: Record<string, string> = {},
  ): void {
    const contentType = status >= 400 ? "application/problem+json" : "application/json";
    if (validateResponses) {
      const issues = router.validateResponse(operationId, status, body === undefined ? undefined : contentType, body);
      if (issues.length > 0) {
        ctx.logger.error("portarium response does not match the OpenAPI document", { operationId, status, issues });
        const p = new HttpProblem(
          500,
          "nonconforming-response",
          `response of ${operationId} broke the schema: ${issues.join(" | ")}`,
        );
        send(res, 500, p.body(), { "x-request-id": requestId }, "application/problem+json");
        return;
      }
    }
    send(res, status, body, { ...headers, "x-request-id": requestId }, contentType);
  }

  return {
    name: "portarium",
    service,
    store,
    router,
    idempotency,
    signToken,
    close() {
      service.close();
    },
    async handleHttp(req, res) {
      const url = new URL(req.url ?? "/", "http://localhost");
      if (!url.pathname.startsWith("/v1/")) return false;
      const given = req.headers["x-request-id"];
      const requestId = (Array.isArray(given) ? given[0] : given) || randomUUID();
      try {
        await serve(req, res, url, requestId);
      } catch (err) {
        const p = err instanceof HttpProblem ? err : new HttpProblem(500, "internal", "internal error");
        if (!(err instanceof HttpProblem)) ctx.logger.error("portarium request failed", { error: String(err) });
        if (res.headersSent) {
          res.end();
        } else {
          send(res, p.status, p.body(), { ...p.headers, "x-request-id": requestId }, "application/problem+json");
        }
      }
      return true;
    },
  };
};
