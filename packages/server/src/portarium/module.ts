import { randomBytes } from "node:crypto";
import { type ModuleContext, type ModuleFactory, type ServiceModule, withSettings } from "../module.js";
import { readSettings } from "../settings.js";
import { ConnectionTestPolicy } from "./connection-probe.js";
import { IdempotencyCache } from "./idempotency.js";
import { TERMINAL_INVOCATION } from "./invocation-runner.js";
import type { PortariumClaims } from "./jwt.js";
import { OpenApiSchema } from "./openapi.js";
import { portariumOperations } from "./operations.js";
import { PortariumService } from "./portarium-service.js";
import { type IdempotentResult, PortariumRestHandler } from "./rest-handler.js";
import { PortariumRouter } from "./router.js";
import { TERMINAL_RUN } from "./run-service.js";
import { parseServiceAccounts } from "./service-accounts.js";
import { PORTARIUM_MODULE_SETTINGS, PORTARIUM_SETTING_DECLARATIONS, portariumSettings } from "./settings.js";
import { type ApprovalRecord, MemoryPortariumStore, type PortariumStore } from "./store.js";
import { TokenIssuer } from "./tokens.js";

/** The Portarium module: the REST control plane, routed by its operation table and validated by the OpenAPI document. */
export interface PortariumModule extends ServiceModule {
  /** The rules, one service per resource. */
  readonly service: PortariumService;
  /** The state. */
  readonly store: PortariumStore;
  /** The router over the operation table, with the document's validators (tests validate responses with it). */
  readonly router: PortariumRouter;
  /** The remembered `Idempotency-Key`s (bounded by `idempotencyMaxEntries`). */
  readonly idempotency: {
    /** How many keys are remembered now. */
    readonly size: number;
  };
  /** Signs a token directly (tests use it for expired or foreign tokens). */
  signToken(claims: Partial<PortariumClaims> & { sub: string; workspace: string }): Promise<string>;
}

/** Approval statuses that change no more: such approvals may be forgotten. */
const DECIDED_APPROVAL: ReadonlySet<ApprovalRecord["status"]> = new Set(["Denied", "Executed", "Expired"]);

/**
 * Creates the Portarium module. Settings (`--set`, config file or dedicated flags):
 * - `portarium.serviceAccounts`: `ID:SECRET:WS[,WS]` per line; every workspace named exists.
 * - `portarium.jwtSecret`: HS256 secret (default: random per process).
 * - `portarium.tokenTtlSeconds`: lifetime of issued tokens (default 3600).
 * - `portarium.invocationDurationMs`: how long a machine invocation runs, from `accepted`
 *   through `running` to `completed` (default 1000).
 * - `portarium.machineHeartbeatTimeoutMs`: a machine silent this long is `Degraded`, twice
 *   as long `Offline` (default 300000).
 * - `portarium.connectionTestAllow`: which agent endpoints connection tests may dial, a
 *   comma-separated list of `public`, addresses, CIDR ranges and host names, each with an
 *   optional `:port` (default `public`: loopback, private, link-local and reserved
 *   addresses are refused with 403 unless listed; see `ConnectionTestPolicy`).
 * - `portarium.idempotencyTtlMs` (default 24 h) and `portarium.idempotencyMaxEntries`
 *   (default 10000): how long, and how many, `Idempotency-Key`s are remembered.
 * - `portarium.maxRunsPerWorkspace`, `maxApprovalsPerWorkspace`, `maxInvocationsPerWorkspace`
 *   (default 10000 each) and `maxEvidencePerWorkspace` (default 100000): what a workspace
 *   keeps; the oldest finished (decided, for approvals; any, for evidence) go first, and a
 *   workspace full of unfinished ones answers 507.
 * - `portarium.sseKeepAliveMs`: how often an open event stream gets a `: keep-alive`
 *   comment, so idle proxies do not cut it (default 15000).
 * - `portarium.validateResponses`: `true` checks every response against the document and
 *   answers 500 instead of a nonconforming response (tests turn it on).
 *
 * Routing: one operation table entry per operation of the document (see
 * `portariumOperations`); an unknown path is a 404, a known path with another method a 405
 * with `Allow`, both problem+json.
 *
 * Auth: `POST /v1/auth/token` answers 401 for an unknown client or wrong secret and 403
 * when the account may not use the workspace. Other operations need
 * `Authorization: Bearer <jwt>`: missing, malformed, badly signed or expired tokens get 401
 * with `WWW-Authenticate: Bearer`; a token of workspace A used on workspace B gets 403, and
 * a token whose `scope` claim lacks the operation's scope (`<resource>:read|write`, see
 * `requiredScope`) gets 403 `insufficient_scope`. Service accounts may carry scopes
 * (`ID:SECRET:WS SCOPE...`); the token endpoint narrows to a requested `scope` and refuses
 * unknown or ungranted ones with 400 `invalid_scope`.
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
 * Machines are simulated (see `MachineService`, `invocationPlan`): their status follows
 * their heartbeats, their invocations run the steps the request asks for.
 *
 * Streams: `streamMachineInvocation` sends the invocation's history, then live events, as
 * server-sent events whose `id` is the event's 1-based position, and ends after the
 * terminal event. A `Last-Event-ID` header resumes after that event. At the end of the
 * server's shutdown drain period, open streams end (before their terminal event), so
 * clients reconnect.
 *
 * @throws {Error} when a setting or a service account is malformed.
 */
export const createPortariumModule: ModuleFactory = withSettings((ctx: ModuleContext): PortariumModule => {
  const settings = ctx.options.settings;
  const own = readSettings("portarium", PORTARIUM_MODULE_SETTINGS, settings);
  const accounts = parseServiceAccounts(own.serviceAccounts);
  const numbers = portariumSettings(settings);
  const tokens = new TokenIssuer({
    accounts,
    secret: own.jwtSecret ?? randomBytes(32).toString("base64url"),
    ttlSeconds: numbers.tokenTtlSeconds,
    clock: ctx.clock,
  });
  const store = new MemoryPortariumStore({
    runs: {
      max: numbers.maxRunsPerWorkspace,
      evictable: (r) => TERMINAL_RUN.has(r.status),
      setting: "portarium.maxRunsPerWorkspace",
    },
    approvals: {
      max: numbers.maxApprovalsPerWorkspace,
      evictable: (a) => DECIDED_APPROVAL.has(a.status),
      setting: "portarium.maxApprovalsPerWorkspace",
    },
    evidence: {
      max: numbers.maxEvidencePerWorkspace,
      evictable: () => true,
      setting: "portarium.maxEvidencePerWorkspace",
    },
    invocations: {
      max: numbers.maxInvocationsPerWorkspace,
      evictable: (i) => TERMINAL_INVOCATION.has(i.response.status),
      setting: "portarium.maxInvocationsPerWorkspace",
    },
  });
  const service = new PortariumService(store, {
    clock: ctx.clock,
    invocationDurationMs: numbers.invocationDurationMs,
    machineHeartbeatTimeoutMs: numbers.machineHeartbeatTimeoutMs,
    connectionTestPolicy: ConnectionTestPolicy.parse(numbers.connectionTestAllow),
  });
  const router = new PortariumRouter(new OpenApiSchema(), portariumOperations(service, tokens));
  const idempotency = new IdempotencyCache<IdempotentResult>({
    ttlMs: numbers.idempotencyTtlMs,
    maxEntries: numbers.idempotencyMaxEntries,
    now: () => ctx.clock.now(),
  });
  const rest = new PortariumRestHandler({
    router,
    tokens,
    idempotency,
    logger: ctx.logger,
    validateResponses: own.validateResponses,
    sseKeepAliveMs: numbers.sseKeepAliveMs,
    shutdownSignal: ctx.shutdownSignal,
  });
  for (const a of accounts) for (const w of a.workspaces) service.workspaces.ensure(w);

  return {
    name: "portarium",
    service,
    store,
    router,
    idempotency,
    signToken: (claims) => tokens.sign(claims),
    handleHttp: (req, res) => rest.handle(req, res),
    close() {
      service.close();
    },
  };
}, PORTARIUM_SETTING_DECLARATIONS);
