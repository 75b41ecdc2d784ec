import { randomUUID } from "node:crypto";
import {
  BatonError,
  type CallOptions,
  DeadlineExceededError,
  InternalError,
  InvalidArgumentError,
  type Logger,
  PagedList,
  type RetryOptions,
  resolveRetryPolicy,
  resumableStream,
  silentLogger,
  toBatonError,
  UnavailableError,
} from "@baton/core";
import type { components, paths } from "@baton/wire/portarium";
import { type EvidenceChainProblem, verifyEvidenceChain } from "@baton/wire/portarium";
import createClient, { type Client, type Middleware } from "openapi-fetch";
import {
  type ClientCredentials,
  clientCredentialsTokenSource,
  providerTokenSource,
  staticTokenSource,
  type TokenProvider,
  type TokenSource,
} from "./auth.js";
import { problemToError } from "./errors.js";
import { parseServerSentEvents } from "./sse.js";
import { createTransport } from "./transport.js";

type S = components["schemas"];
/** A workspace. */
export type Workspace = S["Workspace"];
/** A workflow definition. */
export type Workflow = S["WorkflowV1"];
/** A workflow run. */
export type Run = S["RunV1"];
/** A run's status. */
export type RunStatus = S["RunStatus"];
/** An approval gate. */
export type Approval = S["ApprovalV1"];
/** One entry of the hash-chained evidence log. */
export type EvidenceEntry = S["EvidenceEntryV1"];
/** A registered machine. */
export type Machine = S["MachineV1"];
/** A registered agent. */
export type Agent = S["AgentV1"];
/** The result of a machine or agent connection test. */
export type ConnectionTestResult = S["ConnectionTestResult"];
/** The state of a machine invocation. */
export type MachineInvocation = S["MachineInvocationResponseV1"];
/** One progress event of a machine invocation. */
export type MachineInvocationEvent = S["MachineInvocationProgressEventV1"];
/** The statuses after which a machine invocation changes no more. */
export const TERMINAL_INVOCATION_STATUSES: ReadonlySet<S["MachineInvocationStatus"]> = new Set(["completed", "failed"]);

/** Options of `machines.streamInvocation` and `machines.waitForInvocation`. */
export interface InvocationStreamOptions extends PortariumCallOptions {
  /**
   * Consecutive reconnects without receiving an event before a dropped stream is given up.
   * 0: never give up. Default 10.
   */
  maxReconnects?: number;
}

/** The result of executing an approved agent action. */
export type AgentActionExecution = S["ExecuteApprovedAgentActionResponse"];

/** The typed openapi-fetch client of the Portarium API (`portarium.rest`). */
export type PortariumRest = Client<paths>;

/** Options every Portarium call takes. */
export interface PortariumCallOptions extends CallOptions {
  /** The workspace of this call, overriding the client's. */
  workspaceId?: string;
  /**
   * `Idempotency-Key` of a state-changing call: makes it safe to retry, and a repeat with
   * the same key answers the first result. `approvals.decide` and `agentActions.execute`
   * generate one when none is given.
   */
  idempotencyKey?: string;
}

/** Options of a list call: page size and where to start, plus the call options. */
export interface ListOptions extends PortariumCallOptions {
  /** Items per page (1-200, server default 50). */
  limit?: number;
  /** Start after this cursor (a previous page's `nextCursor`). */
  cursor?: string;
}

/** Filters of `evidence.list`. */
export interface EvidenceListOptions extends ListOptions {
  /** Only entries linked to this run. */
  runId?: string;
  /** Only entries linked to this plan. */
  planId?: string;
  /** Only entries linked to this work item. */
  workItemId?: string;
  /** Only entries of this category. */
  category?: S["EvidenceCategory"];
}

/** Options of {@link createPortariumClient}. */
export interface PortariumClientOptions {
  /** Root URL of the control plane, e.g. `https://portarium.example.com`. */
  baseUrl: string;
  /** A fixed bearer token (workspace-scoped JWT). */
  token?: string;
  /** Called per request for a bearer token; called with `forceRefresh` after a 401. */
  tokenProvider?: TokenProvider;
  /**
   * Service-account credentials: the client gets tokens from `POST /v1/auth/token` (one
   * per workspace), caches them until shortly before they expire, and refreshes them.
   */
  clientCredentials?: ClientCredentials;
  /** The default workspace of calls (needed by workspace-scoped calls unless given per call). */
  workspaceId?: string;
  /** The fetch to use: default global `fetch` (HTTP/1.1); see `createHttp2Fetch` for HTTP/2. */
  fetch?: (request: Request) => Promise<Response>;
  /** Retry policy (`false` switches retries off). Default: 4 attempts, transient failures only. */
  retry?: RetryOptions | false;
  /** Default deadline of every call, in ms. */
  timeoutMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Where retries are logged. Default: nowhere. */
  logger?: Logger;
}

interface Ctx {
  rest: PortariumRest;
  workspaceId: string | undefined;
  timeoutMs: number | undefined;
}

interface RestResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

type Init = { signal?: AbortSignal; headers: Record<string, string> };

function workspaceOf(ctx: Ctx, opts: PortariumCallOptions | undefined): string {
  const ws = opts?.workspaceId ?? ctx.workspaceId;
  if (ws === undefined) {
    throw new InvalidArgumentError("no workspaceId: pass one to createPortariumClient or to the call");
  }
  return ws;
}

/**
 * The deadline of some work: the caller's signal bounded by `timeoutMs` (or the client's
 * default), and the {@link DeadlineExceededError} to throw when the deadline, not the
 * caller, stopped it.
 */
function deadlineOf(
  ctx: Ctx,
  opts: { timeoutMs?: number; signal?: AbortSignal } | undefined,
): { signal: AbortSignal | undefined; exceeded(cause: unknown): DeadlineExceededError | undefined } {
  const timeoutMs = opts?.timeoutMs ?? ctx.timeoutMs;
  const timeout = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : undefined;
  const signals = [opts?.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  return {
    signal: signals.length <= 1 ? signals[0] : AbortSignal.any(signals),
    exceeded: (cause) =>
      timeout?.aborted && !opts?.signal?.aborted
        ? new DeadlineExceededError(`deadline of ${timeoutMs} ms exceeded`, { cause })
        : undefined,
  };
}

async function call<T>(
  ctx: Ctx,
  opts: PortariumCallOptions | undefined,
  send: (init: Init) => Promise<RestResult<T>>,
): Promise<T> {
  const { signal, exceeded } = deadlineOf(ctx, opts);
  const headers: Record<string, string> = { ...opts?.headers };
  if (opts?.idempotencyKey !== undefined) headers["idempotency-key"] = opts.idempotencyKey;
  try {
    const r = await send({ ...(signal ? { signal } : {}), headers });
    if (r.response.ok) return r.data as T;
    throw problemToError(r.response.status, r.error, r.response.headers);
  } catch (err) {
    if (err instanceof BatonError) throw err;
    throw exceeded(err) ?? toBatonError(err);
  }
}

function pageQuery(opts: ListOptions, cursor: string | undefined): { limit?: number; cursor?: string } {
  return { ...(opts.limit !== undefined ? { limit: opts.limit } : {}), ...(cursor !== undefined ? { cursor } : {}) };
}

/** Workspaces the caller may see. */
export class WorkspacesResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Lists workspaces visible to the token: awaitable (first page) and `for await`-able. */
  list(options: ListOptions = {}): PagedList<Workspace> {
    const ctx = this.#ctx;
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces", { params: { query: pageQuery(options, cursor) }, ...init }),
        ),
      options.cursor,
    );
  }
  /**
   * Gets a workspace (default: the client's).
   *
   * @throws {NotFoundError} when it does not exist. @throws {PermissionDeniedError} when the token is for another.
   */
  get(workspaceId?: string, options: PortariumCallOptions = {}): Promise<Workspace> {
    const ctx = this.#ctx;
    const ws = workspaceId ?? workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}", { params: { path: { workspaceId: ws } }, ...init }),
    );
  }
}

/** Workflow definitions. */
export class WorkflowsResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Creates a workflow. @throws {InvalidArgumentError} when the definition is invalid. */
  create(body: S["CreateWorkflowRequest"], options: PortariumCallOptions = {}): Promise<Workflow> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/workflows", { params: { path: { workspaceId } }, body, ...init }),
    );
  }
  /** Gets a workflow. @throws {NotFoundError} */
  get(workflowId: string, options: PortariumCallOptions = {}): Promise<Workflow> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/workflows/{workflowId}", {
        params: { path: { workspaceId, workflowId } },
        ...init,
      }),
    );
  }
  /** Lists workflows, oldest first. */
  list(options: ListOptions = {}): PagedList<Workflow> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/workflows", {
            params: { path: { workspaceId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /** Updates a workflow (its version increases). @throws {NotFoundError} */
  update(workflowId: string, body: S["UpdateWorkflowRequest"], options: PortariumCallOptions = {}): Promise<Workflow> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.PATCH("/v1/workspaces/{workspaceId}/workflows/{workflowId}", {
        params: { path: { workspaceId, workflowId } },
        body,
        ...init,
      }),
    );
  }
  /** Archives a workflow: it stays readable, new runs of it are refused. @throws {NotFoundError} */
  async archive(workflowId: string, options: PortariumCallOptions = {}): Promise<void> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    await call(ctx, options, (init) =>
      ctx.rest.DELETE("/v1/workspaces/{workspaceId}/workflows/{workflowId}", {
        params: { path: { workspaceId, workflowId } },
        ...init,
      }),
    );
  }
}

/** Workflow runs: start, inspect, list, cancel, intervene, and read their evidence. */
export class RunsResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /**
   * Starts a run of a workflow.
   *
   * @throws {NotFoundError} when the workflow does not exist. @throws {ConflictError} when it is archived.
   * @example
   * ```ts
   * const run = await portarium.runs.start({ workflowId: "wf-invoice-approval", parameters: { amount: 5000 } });
   * ```
   */
  start(body: S["StartRunRequest"], options: PortariumCallOptions = {}): Promise<Run> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/runs", { params: { path: { workspaceId } }, body, ...init }),
    );
  }
  /** Gets a run. @throws {NotFoundError} */
  get(runId: string, options: PortariumCallOptions = {}): Promise<Run> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/runs/{runId}", { params: { path: { workspaceId, runId } }, ...init }),
    );
  }
  /**
   * Lists runs, oldest first: `await` for one page, `for await` for every run, `.pages()`
   * page by page.
   */
  list(options: ListOptions = {}): PagedList<Run> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/runs", {
            params: { path: { workspaceId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /** Cancels a run. @throws {ConflictError} when it already finished. @throws {NotFoundError} */
  cancel(runId: string, options: PortariumCallOptions = {}): Promise<Run> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/runs/{runId}/cancel", {
        params: { path: { workspaceId, runId } },
        ...init,
      }),
    );
  }
  /**
   * Submits an operator intervention (pause, resume, freeze, handoff, ...).
   *
   * @throws {ConflictError} when the run's state does not allow it.
   */
  intervene(runId: string, body: S["RunInterventionRequest"], options: PortariumCallOptions = {}): Promise<Run> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/runs/{runId}/interventions", {
        params: { path: { workspaceId, runId } },
        body,
        ...init,
      }),
    );
  }
  /** The run's evidence entries, oldest first. */
  evidence(runId: string, options: ListOptions = {}): PagedList<EvidenceEntry> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/runs/{runId}/evidence", {
            params: { path: { workspaceId, runId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
}

/** Approval gates: request, list, inspect, decide. */
export class ApprovalsResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Requests an approval for a run (the run waits for it). @throws {NotFoundError} @throws {ConflictError} */
  create(body: S["CreateApprovalRequest"], options: PortariumCallOptions = {}): Promise<Approval> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/approvals", { params: { path: { workspaceId } }, body, ...init }),
    );
  }
  /** Lists approvals, oldest first. */
  list(options: ListOptions = {}): PagedList<Approval> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/approvals", {
            params: { path: { workspaceId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /** Gets an approval. @throws {NotFoundError} */
  get(approvalId: string, options: PortariumCallOptions = {}): Promise<Approval> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/approvals/{approvalId}", {
        params: { path: { workspaceId, approvalId } },
        ...init,
      }),
    );
  }
  /**
   * Decides a pending approval. Sent with an `Idempotency-Key` (generated unless given), so
   * it is retried safely and a repeat answers the first decision.
   *
   * @throws {ConflictError} when it was already decided.
   */
  decide(approvalId: string, body: S["DecideApprovalRequest"], options: PortariumCallOptions = {}): Promise<Approval> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    const opts = { ...options, idempotencyKey: options.idempotencyKey ?? randomUUID() };
    return call(ctx, opts, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/approvals/{approvalId}/decide", {
        params: { path: { workspaceId, approvalId } },
        body,
        ...init,
      }),
    );
  }
}

/** The workspace's hash-chained evidence log. */
export class EvidenceResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Lists evidence entries, oldest first, optionally filtered. */
  list(options: EvidenceListOptions = {}): PagedList<EvidenceEntry> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    const filters = {
      ...(options.runId !== undefined ? { runId: options.runId } : {}),
      ...(options.planId !== undefined ? { planId: options.planId } : {}),
      ...(options.workItemId !== undefined ? { workItemId: options.workItemId } : {}),
      ...(options.category !== undefined ? { category: options.category } : {}),
    };
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/evidence", {
            params: { path: { workspaceId }, query: { ...filters, ...pageQuery(options, cursor) } },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /**
   * Reads the whole (unfiltered) log and verifies its hash chain.
   *
   * @returns the number of entries checked and the first problem, if any.
   */
  async verifyChain(
    options: PortariumCallOptions = {},
  ): Promise<{ entries: number; problem: EvidenceChainProblem | undefined }> {
    const { category: _c, runId: _r, planId: _p, workItemId: _w, ...rest } = options as EvidenceListOptions;
    const entries = await this.list({ ...rest, limit: 200 }).toArray();
    return { entries: entries.length, problem: verifyEvidenceChain(entries) };
  }
}

/** Registered machines and their invocations. */
export class MachinesResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Registers a machine. */
  register(body: S["RegisterMachineRequest"], options: PortariumCallOptions = {}): Promise<Machine> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/machines", { params: { path: { workspaceId } }, body, ...init }),
    );
  }
  /** Lists machines, oldest first. */
  list(options: ListOptions = {}): PagedList<Machine> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/machines", {
            params: { path: { workspaceId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /** Gets a machine. @throws {NotFoundError} */
  get(machineId: string, options: PortariumCallOptions = {}): Promise<Machine> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/machines/{machineId}", {
        params: { path: { workspaceId, machineId } },
        ...init,
      }),
    );
  }
  /** Deregisters a machine. @throws {NotFoundError} */
  async deregister(machineId: string, options: PortariumCallOptions = {}): Promise<void> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    await call(ctx, options, (init) =>
      ctx.rest.DELETE("/v1/workspaces/{workspaceId}/machines/{machineId}", {
        params: { path: { workspaceId, machineId } },
        ...init,
      }),
    );
  }
  /** Tests the connection to a machine. @throws {NotFoundError} */
  test(machineId: string, options: PortariumCallOptions = {}): Promise<ConnectionTestResult> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/machines/{machineId}/test", {
        params: { path: { workspaceId, machineId } },
        ...init,
      }),
    );
  }
  /**
   * Invokes an action on a machine. `invocationId` defaults to a new UUID; `machineId`,
   * `workspaceId` and `schemaVersion` are filled in.
   */
  invoke(
    machineId: string,
    body: Omit<S["MachineInvocationRequestV1"], "schemaVersion" | "machineId" | "workspaceId" | "invocationId"> & {
      invocationId?: string;
    },
    options: PortariumCallOptions = {},
  ): Promise<MachineInvocation> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    const request: S["MachineInvocationRequestV1"] = {
      ...body,
      schemaVersion: 1,
      invocationId: body.invocationId ?? randomUUID(),
      machineId,
      workspaceId,
    };
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/machines/{machineId}/invocations", {
        params: { path: { workspaceId, machineId } },
        body: request,
        ...init,
      }),
    );
  }
  /** Gets the state of an invocation. @throws {NotFoundError} */
  getInvocation(
    machineId: string,
    invocationId: string,
    options: PortariumCallOptions = {},
  ): Promise<MachineInvocation> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}", {
        params: { path: { workspaceId, machineId, invocationId } },
        ...init,
      }),
    );
  }
  /**
   * An invocation's progress events, in order: what already happened, then live events, up
   * to and including the terminal one (`completed` or `failed`), where the iteration ends.
   * A dropped connection is resumed after the last event seen (`Last-Event-ID`), with no
   * loss and no duplicates. `break` (or `signal`) closes the stream; `timeoutMs` (default:
   * the client's) bounds the whole iteration.
   *
   * @throws {NotFoundError} when the machine or invocation does not exist.
   * @throws {DeadlineExceededError} when `timeoutMs` passes first.
   * @throws {UnavailableError} when the stream keeps dropping (see `maxReconnects`).
   * @example
   * ```ts
   * for await (const e of portarium.machines.streamInvocation(machineId, invocationId)) {
   *   console.log(e.status, e.step, e.progressRatio);
   * }
   * ```
   */
  async *streamInvocation(
    machineId: string,
    invocationId: string,
    options: InvocationStreamOptions = {},
  ): AsyncGenerator<MachineInvocationEvent, void, undefined> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    const { signal, exceeded } = deadlineOf(ctx, options);
    const where = { workspaceId, machineId, invocationId };
    const events = resumableStream<{ id: number; event: MachineInvocationEvent }, number>({
      open: (after, sig) => openInvocationStream(ctx, where, after, sig, options.headers),
      cursorAfter: (item) => item.id,
      keyOf: (item) => String(item.id),
      ...(signal ? { signal } : {}),
      ...(options.maxReconnects !== undefined ? { maxReconnects: options.maxReconnects } : {}),
    });
    try {
      for await (const { event } of events) {
        yield event;
        if (TERMINAL_INVOCATION_STATUSES.has(event.status)) return;
      }
    } catch (err) {
      throw exceeded(err) ?? toBatonError(err);
    }
  }
  /**
   * Waits until an invocation finishes, following its progress stream (resumed if the
   * connection drops), and answers its final state: `completed` (with
   * `outputArtifactUris` when the machine produced any), or `failed` with its `error`. `timeoutMs` (default:
   * the client's) bounds the whole wait.
   *
   * @throws {NotFoundError} when the machine or invocation does not exist.
   * @throws {DeadlineExceededError} when `timeoutMs` passes first.
   * @example
   * ```ts
   * const inv = await portarium.machines.invoke(machineId, { action: "compile" });
   * const done = await portarium.machines.waitForInvocation(machineId, inv.invocationId, { timeoutMs: 60_000 });
   * if (done.status === "failed") throw new Error(done.error);
   * ```
   */
  async waitForInvocation(
    machineId: string,
    invocationId: string,
    options: InvocationStreamOptions = {},
  ): Promise<MachineInvocation> {
    // One deadline for the stream and the final read. Both still get `timeoutMs` (the same
    // bound), so neither falls back to the client's default, which may be shorter.
    const { signal, exceeded } = deadlineOf(this.#ctx, options);
    const opts: InvocationStreamOptions = { ...options, ...(signal ? { signal } : {}) };
    try {
      for await (const _ of this.streamInvocation(machineId, invocationId, opts)) {
        // The stream ends after the terminal event; the final state carries its outputs.
      }
      return await this.getInvocation(machineId, invocationId, opts);
    } catch (err) {
      throw exceeded(err) ?? err;
    }
  }
}

/**
 * One connection of an invocation's SSE stream, after event `after` (sent as
 * `Last-Event-ID`). Ends after the terminal event; a stream that ends or breaks before it
 * throws a retryable {@link UnavailableError}, so `resumableStream` reconnects.
 */
async function* openInvocationStream(
  ctx: Ctx,
  where: { workspaceId: string; machineId: string; invocationId: string },
  after: number | undefined,
  signal: AbortSignal,
  headers: Record<string, string> | undefined,
): AsyncGenerator<{ id: number; event: MachineInvocationEvent }> {
  const r = await ctx.rest.GET("/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}/stream", {
    params: { path: where },
    parseAs: "stream",
    signal,
    headers: {
      ...headers,
      accept: "text/event-stream",
      ...(after !== undefined ? { "last-event-id": String(after) } : {}),
    },
  });
  if (!r.response.ok) throw problemToError(r.response.status, r.error, r.response.headers);
  const body = r.data as unknown as AsyncIterable<Uint8Array> | null | undefined;
  if (body) {
    const messages = parseServerSentEvents(body)[Symbol.asyncIterator]();
    try {
      yield* readInvocationEvents(messages, signal, after ?? 0);
      return;
    } finally {
      // Releases the body when the consumer stops early (the caller aborts the request too).
      await messages.return?.(undefined);
    }
  }
  throw new UnavailableError("the invocation stream ended before the invocation finished");
}

/** The events of one connection, until the terminal one. @throws {UnavailableError} when the stream ends or breaks first. */
async function* readInvocationEvents(
  messages: AsyncIterator<{ id: string | undefined; data: string }>,
  signal: AbortSignal,
  after: number,
): AsyncGenerator<{ id: number; event: MachineInvocationEvent }> {
  let position = after;
  // Bounded by the stream: each pass consumes one event, and the stream ends or breaks.
  for (;;) {
    let next: IteratorResult<{ id: string | undefined; data: string }>;
    try {
      next = await messages.next();
    } catch (err) {
      if (signal.aborted || err instanceof RangeError) throw err;
      throw new UnavailableError(`the invocation stream broke: ${(err as Error).message}`, { cause: err });
    }
    if (next.done) break;
    let event: MachineInvocationEvent;
    try {
      event = JSON.parse(next.value.data) as MachineInvocationEvent;
    } catch (err) {
      throw new InternalError("the invocation stream sent an event that is not JSON", { cause: err });
    }
    const id = next.value.id !== undefined && /^\d+$/.test(next.value.id) ? Number(next.value.id) : position + 1;
    position = id;
    yield { id, event };
    if (TERMINAL_INVOCATION_STATUSES.has(event.status)) return;
  }
  throw new UnavailableError("the invocation stream ended before the invocation finished");
}

/** Registered agents. */
export class AgentsResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /** Registers an agent. */
  register(body: S["RegisterAgentRequest"], options: PortariumCallOptions = {}): Promise<Agent> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/agents", { params: { path: { workspaceId } }, body, ...init }),
    );
  }
  /** Lists agents, oldest first. */
  list(options: ListOptions = {}): PagedList<Agent> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return new PagedList(
      (cursor) =>
        call(ctx, options, (init) =>
          ctx.rest.GET("/v1/workspaces/{workspaceId}/agents", {
            params: { path: { workspaceId }, query: pageQuery(options, cursor) },
            ...init,
          }),
        ),
      options.cursor,
    );
  }
  /** Gets an agent. @throws {NotFoundError} */
  get(agentId: string, options: PortariumCallOptions = {}): Promise<Agent> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.GET("/v1/workspaces/{workspaceId}/agents/{agentId}", {
        params: { path: { workspaceId, agentId } },
        ...init,
      }),
    );
  }
  /** Updates an agent. @throws {NotFoundError} */
  update(agentId: string, body: S["UpdateAgentRequest"], options: PortariumCallOptions = {}): Promise<Agent> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.PATCH("/v1/workspaces/{workspaceId}/agents/{agentId}", {
        params: { path: { workspaceId, agentId } },
        body,
        ...init,
      }),
    );
  }
  /** Tests the connection to an agent's endpoint. @throws {NotFoundError} */
  test(agentId: string, options: PortariumCallOptions = {}): Promise<ConnectionTestResult> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    return call(ctx, options, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/agents/{agentId}/test", {
        params: { path: { workspaceId, agentId } },
        ...init,
      }),
    );
  }
}

/** Agent actions an approval has cleared. */
export class AgentActionsResource {
  readonly #ctx: Ctx;
  /** @internal */
  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }
  /**
   * Executes the agent action an approval cleared. Sent with an `Idempotency-Key`
   * (generated unless given): retried safely, and a repeat answers the first execution.
   *
   * @throws {ConflictError} when the approval is not `Approved` (or already executed).
   */
  execute(
    approvalId: string,
    body: S["ExecuteApprovedAgentActionRequest"],
    options: PortariumCallOptions = {},
  ): Promise<AgentActionExecution> {
    const ctx = this.#ctx;
    const workspaceId = workspaceOf(ctx, options);
    const opts = { ...options, idempotencyKey: options.idempotencyKey ?? randomUUID() };
    return call(ctx, opts, (init) =>
      ctx.rest.POST("/v1/workspaces/{workspaceId}/agent-actions/{approvalId}/execute", {
        params: { path: { workspaceId, approvalId } },
        body,
        ...init,
      }),
    );
  }
}

/**
 * openapi-fetch middleware that throws the matching Baton error (see `problemToError`)
 * for any non-2xx response, for users of `portarium.rest` who prefer exceptions to
 * `{ data, error }`: `portarium.rest.use(throwOnProblem)`.
 */
export const throwOnProblem: Middleware = {
  async onResponse({ response }) {
    if (response.ok) return undefined;
    const text = await response.clone().text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    throw problemToError(response.status, body, response.headers);
  },
};

/** The Portarium client: typed raw access (`rest`) plus one resource per API area. */
export class PortariumClient {
  /** The typed openapi-fetch client, for anything the resources do not cover. */
  readonly rest: PortariumRest;
  /** The default workspace of calls. */
  readonly workspaceId: string | undefined;
  /** Workspaces. */
  readonly workspaces: WorkspacesResource;
  /** Workflow runs. */
  readonly runs: RunsResource;
  /** Approval gates. */
  readonly approvals: ApprovalsResource;
  /** The evidence log. */
  readonly evidence: EvidenceResource;
  /** Machines. */
  readonly machines: MachinesResource;
  /** Agents. */
  readonly agents: AgentsResource;
  /** Workflow definitions. */
  readonly workflows: WorkflowsResource;
  /** Approved agent actions. */
  readonly agentActions: AgentActionsResource;
  readonly #timeoutMs: number | undefined;

  /** @internal Use {@link createPortariumClient}. */
  constructor(rest: PortariumRest, workspaceId: string | undefined, timeoutMs: number | undefined) {
    const ctx: Ctx = { rest, workspaceId, timeoutMs };
    this.rest = rest;
    this.workspaceId = workspaceId;
    this.#timeoutMs = timeoutMs;
    this.workspaces = new WorkspacesResource(ctx);
    this.runs = new RunsResource(ctx);
    this.approvals = new ApprovalsResource(ctx);
    this.evidence = new EvidenceResource(ctx);
    this.machines = new MachinesResource(ctx);
    this.agents = new AgentsResource(ctx);
    this.workflows = new WorkflowsResource(ctx);
    this.agentActions = new AgentActionsResource(ctx);
  }

  /** The same client (same connection, auth and token cache) with another default workspace. */
  withWorkspace(workspaceId: string): PortariumClient {
    return new PortariumClient(this.rest, workspaceId, this.#timeoutMs);
  }
}

/**
 * Creates a Portarium client.
 *
 * @throws {InvalidArgumentError} when more than one of `token`, `tokenProvider`, `clientCredentials` is given.
 * @example
 * ```ts
 * const portarium = createPortariumClient({
 *   baseUrl: "https://portarium.example.com",
 *   clientCredentials: { clientId, clientSecret },
 *   workspaceId: "ws-acme",
 * });
 * const run = await portarium.runs.start({ workflowId: "wf-invoice-approval" });
 * for await (const r of portarium.runs.list()) console.log(r.runId, r.status);
 * ```
 */
export function createPortariumClient(options: PortariumClientOptions): PortariumClient {
  const given = [options.token, options.tokenProvider, options.clientCredentials].filter((x) => x !== undefined);
  if (given.length > 1) {
    throw new InvalidArgumentError("pass only one of token, tokenProvider and clientCredentials");
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const baseFetch = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  let tokens: TokenSource;
  if (options.clientCredentials) {
    tokens = clientCredentialsTokenSource(baseUrl, options.clientCredentials, options.workspaceId, baseFetch);
  } else if (options.tokenProvider) {
    tokens = providerTokenSource(options.tokenProvider);
  } else {
    tokens = staticTokenSource(options.token);
  }
  const transport = createTransport({
    fetch: baseFetch,
    tokens,
    defaultWorkspaceId: options.workspaceId,
    retry: resolveRetryPolicy(options.retry),
    logger: options.logger ?? silentLogger,
  });
  const rest = createClient<paths>({
    baseUrl,
    fetch: transport,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  rest.use(requestIdMiddleware);
  return new PortariumClient(rest, options.workspaceId, options.timeoutMs);
}

/** Gives every request an `x-request-id` (kept across retries, so logs tie attempts together). */
const requestIdMiddleware: Middleware = {
  onRequest({ request }) {
    if (!request.headers.has("x-request-id")) request.headers.set("x-request-id", randomUUID());
    return request;
  },
};
