import { BatonClient, type ClientDefaults, type ClientOptions, type FetchLike } from "@baton/core";
import type { Middleware } from "openapi-fetch";
import { AgentActionsResource } from "./agent-actions.js";
import { AgentsResource } from "./agents.js";
import { ApprovalsResource } from "./approvals.js";
import { type ClientCredentials, type PortariumTokenProvider, type TokenSource, tokenSourceOf } from "./auth.js";
import type { Scope } from "./call.js";
import { EvidenceResource } from "./evidence.js";
import { createJsonCalls } from "./json-calls.js";
import { MachinesResource } from "./machines.js";
import { createRaw, type PortariumRaw } from "./raw.js";
import { RunsResource } from "./runs.js";
import { createExchangeTransport } from "./transport.js";
import { WorkflowsResource } from "./workflows.js";
import { WorkspacesResource } from "./workspaces.js";

/** The address a {@link PortariumClient} uses when neither its options nor `PORTARIUM_URL` name one. */
export const DEFAULT_PORTARIUM_ADDRESS = "http://127.0.0.1:8080";

/** The environment variable that overrides {@link DEFAULT_PORTARIUM_ADDRESS}: the control plane's root URL. */
export const PORTARIUM_ADDRESS_ENV = "PORTARIUM_URL";

/** Where a Portarium client finds its server, and that REST speaks HTTP/1.1 unless told otherwise. */
export const PORTARIUM_DEFAULTS: ClientDefaults = Object.freeze({
  address: DEFAULT_PORTARIUM_ADDRESS,
  env: PORTARIUM_ADDRESS_ENV,
  connection: Object.freeze({ httpVersion: "1.1" as const }),
});

/**
 * Options of {@link PortariumClient}: core's client options (`address`, `tls`, `timeoutMs`,
 * `idleTimeoutMs`, `retry`, `headers`, `logger`, `dialTimeoutMs`, `httpVersion`,
 * `connection`, ...) plus Portarium's own.
 */
export interface PortariumClientOptions extends Omit<ClientOptions, "token" | "interceptors"> {
  /**
   * A fixed bearer token (workspace-scoped JWT), or a provider called for every request:
   * core's zero-argument provider, or one that takes `{ workspaceId, forceRefresh }` (it is
   * asked again with `forceRefresh: true` after a 401).
   */
  token?: string | PortariumTokenProvider;
  /**
   * Service-account credentials: the client gets tokens from `POST /v1/auth/token` (one
   * per workspace), caches them until shortly before they expire, and refreshes them. A
   * server without that endpoint (the real control plane) fails calls with an
   * `UnauthenticatedError` saying it does not issue tokens: pass `token` there.
   */
  clientCredentials?: ClientCredentials;
  /** The default workspace of calls (needed by workspace-scoped calls unless given per call). */
  workspaceId?: string;
  /** openapi-fetch middleware run on every request and response (Portarium's `interceptors`). */
  middleware?: Middleware[];
  /**
   * The fetch requests go through. Default: the connection's own (`connection.fetch`: Unix
   * sockets, TLS options, dial timeout, HTTP/1.1 keep-alive or HTTP/2).
   */
  fetch?: FetchLike;
}

/** What a client and the clients `withWorkspace` derives from it share. */
interface Shared {
  tokens: TokenSource;
  fetch: FetchLike;
  /** Whether `fetch` is the user's (then every call goes through it, as a web `Request`). */
  customFetch: boolean;
  middleware: readonly Middleware[];
}

const SHARED = Symbol("portarium shared state");
type DerivedOptions = PortariumClientOptions & { [SHARED]?: Shared };

/**
 * The Portarium client: one resource per API area, and the typed openapi-fetch client as
 * `raw`. The address is `options.address`, else `$PORTARIUM_URL`, else
 * `http://127.0.0.1:8080` (`unix:///path.sock` works too); REST goes over HTTP/1.1 unless
 * `httpVersion: "2"`. `close()` (or `await using`) closes the connection it made.
 *
 * @throws {InvalidArgumentError} on an unusable address, or when both `token` and `clientCredentials` are given.
 * @example
 * ```ts
 * const portarium = new PortariumClient({
 *   address: "https://portarium.example.com",
 *   clientCredentials: { clientId, clientSecret },
 *   workspaceId: "ws-acme",
 * });
 * const run = await portarium.runs.start({ workflowId: "wf-invoice-approval" });
 * for await (const r of portarium.runs.list()) console.log(r.runId, r.status);
 * await portarium.close();
 * ```
 */
export class PortariumClient extends BatonClient {
  /** The typed openapi-fetch client (auth, retries and correlation ids included), for anything the resources do not cover. */
  readonly raw: PortariumRaw;
  /** The default workspace of calls. */
  readonly workspaceId: string | undefined;
  /** Workspaces. */
  readonly workspaces: WorkspacesResource;
  /** Workflow definitions. */
  readonly workflows: WorkflowsResource;
  /** Workflow runs. */
  readonly runs: RunsResource;
  /** Approval gates. */
  readonly approvals: ApprovalsResource;
  /** The evidence log. */
  readonly evidence: EvidenceResource;
  /** Machines and their invocations. */
  readonly machines: MachinesResource;
  /** Agents. */
  readonly agents: AgentsResource;
  /** Approved agent actions. */
  readonly agentActions: AgentActionsResource;
  readonly #options: PortariumClientOptions;
  readonly #shared: Shared;

  constructor(options: PortariumClientOptions = {}) {
    const { token, clientCredentials, workspaceId, middleware, fetch, ...connectionOptions } = options;
    super(connectionOptions, PORTARIUM_DEFAULTS);
    this.#options = options;
    const connection = this.connection;
    const transportFetch: FetchLike = fetch ?? ((request) => connection.fetch(request));
    this.#shared = (options as DerivedOptions)[SHARED] ?? {
      tokens: tokenSourceOf(
        { token, clientCredentials },
        {
          baseUrl: connection.address.baseUrl,
          defaultWorkspaceId: workspaceId,
          fetch: transportFetch,
          timeoutMs: connection.options.timeoutMs,
        },
      ),
      fetch: transportFetch,
      customFetch: fetch !== undefined,
      middleware: [...(middleware ?? [])],
    };
    this.workspaceId = workspaceId;
    const shared = this.#shared;
    const { raw, hasMiddleware } = createRaw({ connection, workspaceId, ...shared });
    this.raw = raw;
    // JSON calls skip openapi-fetch's web Request/Response unless something needs them.
    const lean = createJsonCalls({
      baseUrl: connection.address.baseUrl,
      headers: connection.options.headers,
      exchange: createExchangeTransport(
        {
          tokens: shared.tokens,
          defaultWorkspaceId: workspaceId,
          retry: connection.retryPolicy,
          logger: connection.logger,
        },
        (request) => connection.exchange(request),
      ),
    });
    const scope: Scope = {
      raw,
      get calls() {
        return shared.customFetch || hasMiddleware() ? raw : lean;
      },
      workspaceId,
      connection,
    };
    this.workspaces = new WorkspacesResource(scope);
    this.workflows = new WorkflowsResource(scope);
    this.runs = new RunsResource(scope);
    this.approvals = new ApprovalsResource(scope);
    this.evidence = new EvidenceResource(scope);
    this.machines = new MachinesResource(scope);
    this.agents = new AgentsResource(scope);
    this.agentActions = new AgentActionsResource(scope);
  }

  /**
   * The same client with another default workspace: it shares this client's connection,
   * auth and token cache, and its `close()` leaves the shared connection open. Middleware
   * added later with `raw.use()` stays on the client it was added to.
   */
  withWorkspace(workspaceId: string): PortariumClient {
    const derived: DerivedOptions = {
      ...this.#options,
      connection: this.connection,
      workspaceId,
      [SHARED]: this.#shared,
    };
    return new PortariumClient(derived);
  }
}
