import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { type components, evidenceEntryHash } from "@baton/wire/portarium";
import { HttpProblem, problems } from "./http.js";
import { InvocationRunner, type InvocationSink } from "./invocations.js";
import type { PortariumClaims } from "./jwt.js";
import type {
  ApprovalRecord,
  EvidenceRecord,
  InvocationRecord,
  MachineRecord,
  PortariumStore,
  RunRecord,
  Table,
  WorkflowRecord,
} from "./store.js";

type S = components["schemas"];

/** A validated request, as a handler sees it. */
export interface PortariumRequest {
  /** The operation id. */
  operationId: string;
  /** The verified token's claims (absent only for `issueToken`). */
  claims: PortariumClaims | undefined;
  /** Path parameters. */
  path: Record<string, string>;
  /** Query parameters, coerced to their schema types. */
  query: Record<string, string | number | boolean>;
  /** The parsed, validated JSON body. */
  body: unknown;
  /** Base URL the request came in on (for `statusUrl`s). */
  origin: string;
}

/** What a handler answers. */
export interface PortariumResponse {
  /** HTTP status. */
  status: number;
  /** JSON body; undefined for 204. */
  body?: unknown;
}

/** Options of a {@link PortariumService}. */
export interface PortariumServiceOptions {
  /** How long a machine invocation takes from acceptance to completion, in ms. Default 1000. */
  invocationDurationMs?: number;
}

/** Default of {@link PortariumServiceOptions.invocationDurationMs}. */
export const DEFAULT_INVOCATION_DURATION_MS = 1000;

const TERMINAL_RUN: ReadonlySet<S["RunStatus"]> = new Set(["Succeeded", "Failed", "Cancelled"]);
const now = () => new Date().toISOString();
const id = (prefix: string) => `${prefix}-${randomUUID()}`;

/** Encodes a page position as an opaque cursor bound to one list. */
export function encodeCursor(list: string, lastSeq: number): string {
  return Buffer.from(JSON.stringify({ l: list, s: lastSeq })).toString("base64url");
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same list.
 *
 * @throws {HttpProblem} 400 when the cursor is not one of ours or belongs to another list.
 */
export function decodeCursor(list: string, cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { l?: unknown; s?: unknown };
    if (v.l === list && typeof v.s === "number" && Number.isSafeInteger(v.s)) return v.s;
  } catch {
    // fall through
  }
  throw problems.invalid("invalid cursor", { "query.cursor": ["is not a cursor this list returned"] });
}

/**
 * The rules of the Portarium control plane: workflows, runs and their statuses,
 * approvals, the evidence hash chain, machines and agents. State is in a
 * {@link PortariumStore}; every handler runs on a validated request.
 *
 * Run lifecycle (documented in the module README block of module.ts):
 * - `startRun` needs an existing workflow (404 otherwise) that is active (409 when archived).
 *   A workflow whose tier and actions are all `Auto` runs to `Succeeded` at once; any other
 *   run is `Running` until an operator acts.
 * - `createApproval` for a run moves it to `WaitingForApproval`; deciding the last pending
 *   approval moves it to `Succeeded` (Approved), `Failed` (Denied) or back to `Running`
 *   (RequestChanges).
 * - Interventions: `pause` (Running/WaitingForApproval to Paused), `resume` (back), `freeze`
 *   (controlState frozen), `handoff` (operator-owned), `emergency-disable` (Cancelled); every
 *   kind leaves evidence. Any intervention or cancel on a finished run is a 409.
 *
 * Machine invocations run over time (see {@link InvocationRunner}): `accepted`, `running`
 * with rising `progressRatio`, then `completed` after `invocationDurationMs`, or `failed`
 * when their machine is deregistered first. Each start and finish leaves evidence.
 * Invocations stay readable after their machine is deregistered.
 */
export class PortariumService {
  /** Runs machine invocations over time and feeds their streams. */
  readonly invocations: InvocationRunner;
  readonly #store: PortariumStore;
  readonly #lastHash = new Map<string, string>();

  /** @throws {RangeError} when `invocationDurationMs` is negative or not a number. */
  constructor(store: PortariumStore, options: PortariumServiceOptions = {}) {
    this.#store = store;
    this.invocations = new InvocationRunner(store, {
      durationMs: options.invocationDurationMs ?? DEFAULT_INVOCATION_DURATION_MS,
      onFinished: (ws, inv) => {
        const r = inv.response;
        this.#evidence(
          ws,
          r.invocationId,
          "Action",
          `machine invocation ${r.invocationId} ${r.status}${r.error ? `: ${r.error}` : ""}`,
          {
            actor: { kind: "Machine", machineId: inv.machineId },
            links: {
              ...(inv.request.runId ? { runId: inv.request.runId } : {}),
              ...(inv.request.planId ? { planId: inv.request.planId } : {}),
            },
          },
        );
      },
    });
  }

  /** Stops running invocations' timers and ends their streams. */
  close(): void {
    this.invocations.close();
  }

  /** Creates a workspace (idempotent), as service accounts name them. */
  ensureWorkspace(workspaceId: string): void {
    if (this.#store.workspaces.get("", workspaceId)) return;
    this.#store.workspaces.insert("", workspaceId, { workspaceId, name: workspaceId, createdAtIso: now() });
  }

  /** Runs one operation. */
  async handle(req: PortariumRequest): Promise<PortariumResponse> {
    if (req.operationId === "testAgentConnection") {
      const ws = req.path.workspaceId ?? "";
      const agent = this.#must(this.#store.agents, ws, req.path.agentId, "agent");
      const result = await probe(agent.endpoint);
      this.#evidence(ws, agent.agentId, "System", `agent ${agent.name} connection test: ${result.status}`, {
        actor: userActor(req.claims?.sub ?? "anonymous"),
      });
      return ok(result);
    }
    return this.#handleSync(req);
  }

  #handleSync(req: PortariumRequest): PortariumResponse {
    const ws = req.path.workspaceId ?? "";
    const b = req.body as Record<string, unknown>;
    const user = req.claims?.sub ?? "anonymous";
    const st = this.#store;
    switch (req.operationId) {
      case "listWorkspaces": {
        const visible = req.claims?.workspace;
        return this.#page(req, "workspaces", st.workspaces, "", (w) => w.workspaceId === visible);
      }
      case "getWorkspace":
        return ok(this.#must(st.workspaces, "", ws, "workspace"));

      case "listWorkflows":
        return this.#page(req, "workflows", st.workflows, ws);
      case "createWorkflow": {
        const wf: WorkflowRecord = {
          schemaVersion: 1,
          workflowId: id("wf"),
          workspaceId: ws,
          name: b.name as string,
          ...(b.description !== undefined ? { description: b.description as string } : {}),
          version: 1,
          active: true,
          executionTier: b.executionTier as S["ExecutionTier"],
          actions: b.actions as S["WorkflowActionV1"][],
        };
        return { status: 201, body: st.workflows.insert(ws, wf.workflowId, wf) };
      }
      case "getWorkflow":
        return ok(this.#must(st.workflows, ws, req.path.workflowId, "workflow"));
      case "updateWorkflow": {
        const wf = this.#must(st.workflows, ws, req.path.workflowId, "workflow");
        const next: WorkflowRecord = { ...wf, ...(b as Partial<WorkflowRecord>), version: wf.version + 1 };
        return ok(st.workflows.update(ws, wf.workflowId, next));
      }
      case "archiveWorkflow": {
        const wf = this.#must(st.workflows, ws, req.path.workflowId, "workflow");
        if (wf.active) st.workflows.update(ws, wf.workflowId, { ...wf, active: false, version: wf.version + 1 });
        return { status: 204 };
      }

      case "listRuns":
        return this.#page(req, "runs", st.runs, ws);
      case "startRun": {
        const wf = st.workflows.get(ws, b.workflowId as string);
        if (!wf) throw problems.notFound(`workflow ${String(b.workflowId)}`);
        if (!wf.active) throw problems.conflict(`workflow ${wf.workflowId} is archived`);
        const at = now();
        const runId = id("run");
        const auto =
          wf.executionTier === "Auto" && wf.actions.every((a) => (a.executionTierOverride ?? "Auto") === "Auto");
        const run: RunRecord = {
          schemaVersion: 1,
          runId,
          workspaceId: ws,
          workflowId: wf.workflowId,
          correlationId: id("corr"),
          executionTier: wf.executionTier,
          initiatedByUserId: user,
          status: auto ? "Succeeded" : "Running",
          createdAtIso: at,
          startedAtIso: at,
          ...(auto ? { endedAtIso: at } : {}),
        };
        st.runs.insert(ws, runId, run);
        this.#evidence(ws, run.correlationId, "System", `run started from workflow ${wf.workflowId} v${wf.version}`, {
          actor: userActor(user),
          links: { runId },
        });
        if (auto) {
          for (const a of [...wf.actions].sort((x, y) => x.order - y.order)) {
            this.#evidence(ws, run.correlationId, "Action", `action ${a.actionId} ${a.operation} executed`, {
              links: { runId },
            });
          }
          this.#evidence(ws, run.correlationId, "System", "run succeeded", { links: { runId } });
        }
        return { status: 201, body: run };
      }
      case "getRun":
        return ok(this.#must(st.runs, ws, req.path.runId, "run"));
      case "cancelRun": {
        const run = this.#must(st.runs, ws, req.path.runId, "run");
        if (TERMINAL_RUN.has(run.status)) throw problems.conflict(`run ${run.runId} is already ${run.status}`);
        const done = this.#finishRun(run, "Cancelled", user, "run cancelled");
        return ok(done);
      }
      case "submitRunIntervention":
        return ok(this.#intervene(ws, req.path.runId ?? "", b as S["RunInterventionRequest"], user));
      case "listRunEvidence": {
        const run = this.#must(st.runs, ws, req.path.runId, "run");
        return this.#page(req, `evidence:run:${run.runId}`, st.evidence, ws, (e) => e.links?.runId === run.runId);
      }

      case "listApprovals":
        return this.#page(req, "approvals", st.approvals, ws);
      case "createApproval": {
        const run = this.#must(st.runs, ws, b.runId as string, "run");
        if (TERMINAL_RUN.has(run.status)) throw problems.conflict(`run ${run.runId} is already ${run.status}`);
        const approval: ApprovalRecord = {
          schemaVersion: 1,
          approvalId: id("appr"),
          workspaceId: ws,
          ...(b as Omit<S["CreateApprovalRequest"], never>),
          status: "Pending",
          requestedAtIso: now(),
          requestedByUserId: user,
        } as ApprovalRecord;
        st.approvals.insert(ws, approval.approvalId, approval);
        if (run.status === "Running") st.runs.update(ws, run.runId, { ...run, status: "WaitingForApproval" });
        this.#evidence(ws, run.correlationId, "Approval", `approval requested: ${approval.prompt}`, {
          actor: userActor(user),
          links: { runId: run.runId, planId: approval.planId, approvalId: approval.approvalId },
        });
        return { status: 201, body: approval };
      }
      case "getApproval":
        return ok(this.#must(st.approvals, ws, req.path.approvalId, "approval"));
      case "decideApproval":
        return ok(this.#decide(ws, req.path.approvalId ?? "", b as S["DecideApprovalRequest"], user));

      case "executeApprovedAgentAction": {
        const approval = this.#must(st.approvals, ws, req.path.approvalId, "approval");
        if (approval.status !== "Approved") {
          throw problems.conflict(`approval ${approval.approvalId} is ${approval.status}, not Approved`);
        }
        st.approvals.update(ws, approval.approvalId, { ...approval, status: "Executed" });
        const executionId = id("exec");
        const run = st.runs.get(ws, approval.runId);
        this.#evidence(ws, run?.correlationId ?? approval.approvalId, "Action", `agent action ${b.flowRef} executed`, {
          actor: userActor(user),
          links: { runId: approval.runId, planId: approval.planId, approvalId: approval.approvalId },
        });
        const response: S["ExecuteApprovedAgentActionResponse"] = {
          executionId,
          approvalId: approval.approvalId,
          status: "Executed",
          output: { flowRef: b.flowRef, payload: b.payload ?? null },
        };
        return ok(response);
      }

      case "listEvidenceEntries": {
        const q = req.query;
        const key = `evidence:${q.runId ?? ""}:${q.planId ?? ""}:${q.workItemId ?? ""}:${q.category ?? ""}`;
        return this.#page(
          req,
          key,
          st.evidence,
          ws,
          (e) =>
            (q.runId === undefined || e.links?.runId === q.runId) &&
            (q.planId === undefined || e.links?.planId === q.planId) &&
            (q.workItemId === undefined || e.links?.workItemId === q.workItemId) &&
            (q.category === undefined || e.category === q.category),
        );
      }

      case "listMachines":
        return this.#page(req, "machines", st.machines, ws);
      case "registerMachine": {
        const at = now();
        const machine: MachineRecord = {
          schemaVersion: 1,
          machineId: id("mach"),
          workspaceId: ws,
          hostname: b.hostname as string,
          ...(b.osImage !== undefined ? { osImage: b.osImage as string } : {}),
          registeredAtIso: at,
          lastHeartbeatAtIso: at,
          status: "Online",
          activeRunCount: 0,
          allowedCapabilities: (b.allowedCapabilities as S["AgentCapability"][] | undefined) ?? [],
        };
        st.machines.insert(ws, machine.machineId, machine);
        this.#evidence(ws, machine.machineId, "System", `machine ${machine.hostname} registered`, {
          actor: userActor(user),
        });
        return { status: 201, body: machine };
      }
      case "getMachine":
        return ok(this.#must(st.machines, ws, req.path.machineId, "machine"));
      case "deregisterMachine": {
        const m = this.#must(st.machines, ws, req.path.machineId, "machine");
        st.machines.delete(ws, m.machineId);
        this.#evidence(ws, m.machineId, "System", `machine ${m.hostname} deregistered`, { actor: userActor(user) });
        this.invocations.failMachine(ws, m.machineId, `machine ${m.hostname} was deregistered`);
        return { status: 204 };
      }
      case "testMachineConnection": {
        const m = this.#must(st.machines, ws, req.path.machineId, "machine");
        const started = process.hrtime.bigint();
        st.machines.update(ws, m.machineId, { ...m, lastHeartbeatAtIso: now() });
        const latencyMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
        const status: S["ConnectionTestStatus"] =
          m.status === "Offline" ? "unreachable" : m.status === "Degraded" ? "slow" : "ok";
        this.#evidence(ws, m.machineId, "System", `machine ${m.hostname} connection test: ${status}`, {
          actor: userActor(user),
        });
        return ok({ status, latencyMs, ...(status === "unreachable" ? { errorMessage: "machine is offline" } : {}) });
      }
      case "createMachineInvocation":
        return this.#invoke(req, ws, b as S["MachineInvocationRequestV1"]);
      case "getMachineInvocation":
        return ok(this.#invocation(ws, req.path.machineId ?? "", req.path.invocationId ?? "").response);

      case "listAgents":
        return this.#page(req, "agents", st.agents, ws);
      case "registerAgent": {
        const agent: S["AgentV1"] = {
          schemaVersion: 1,
          agentId: id("agent"),
          workspaceId: ws,
          name: b.name as string,
          ...(b.modelId !== undefined ? { modelId: b.modelId as string } : {}),
          endpoint: b.endpoint as string,
          allowedCapabilities: (b.allowedCapabilities as S["AgentCapability"][] | undefined) ?? [],
        };
        st.agents.insert(ws, agent.agentId, agent);
        this.#evidence(ws, agent.agentId, "System", `agent ${agent.name} registered`, { actor: userActor(user) });
        return { status: 201, body: agent };
      }
      case "getAgent":
        return ok(this.#must(st.agents, ws, req.path.agentId, "agent"));
      case "updateAgent": {
        const a = this.#must(st.agents, ws, req.path.agentId, "agent");
        const next = st.agents.update(ws, a.agentId, { ...a, ...(b as Partial<S["AgentV1"]>) });
        this.#evidence(ws, a.agentId, "System", `agent ${next.name} updated`, { actor: userActor(user) });
        return ok(next);
      }
      default:
        throw new HttpProblem(501, "not-implemented", `${req.operationId} is not implemented`);
    }
  }

  /**
   * Subscribes a stream to an invocation's progress events after the first `afterId` (see
   * {@link InvocationRunner.subscribe}). Returns the unsubscribe function.
   *
   * @throws {HttpProblem} 404 when the invocation does not exist on that machine.
   */
  subscribeInvocation(
    workspaceId: string,
    machineId: string,
    invocationId: string,
    afterId: number,
    sink: InvocationSink,
  ): () => void {
    this.#invocation(workspaceId, machineId, invocationId);
    return this.invocations.subscribe(workspaceId, invocationId, afterId, sink);
  }

  /** An invocation of a machine (which may since have been deregistered). */
  #invocation(ws: string, machineId: string, invocationId: string): InvocationRecord {
    const inv = this.#store.invocations.get(ws, invocationId);
    if (!inv || inv.machineId !== machineId) {
      // Say which is missing: a machine that never existed, or an invocation it never ran.
      if (!inv && !this.#store.machines.get(ws, machineId)) throw problems.notFound(`machine ${machineId}`);
      throw problems.notFound(`invocation ${invocationId}`);
    }
    return inv;
  }

  #invoke(req: PortariumRequest, ws: string, b: S["MachineInvocationRequestV1"]): PortariumResponse {
    const m = this.#must(this.#store.machines, ws, req.path.machineId, "machine");
    const errors: Record<string, string[]> = {};
    if (b.machineId !== m.machineId) errors["/machineId"] = ["must equal the machineId of the path"];
    if (b.workspaceId !== ws) errors["/workspaceId"] = ["must equal the workspaceId of the path"];
    if (Object.keys(errors).length > 0) throw problems.invalid("invocation does not match its path", errors);
    const existing = this.#store.invocations.get(ws, b.invocationId);
    if (existing) {
      if (
        existing.machineId === m.machineId &&
        b.idempotencyKey &&
        existing.request.idempotencyKey === b.idempotencyKey
      )
        return { status: 202, body: existing.response };
      throw problems.conflict(`invocation ${b.invocationId} already exists`);
    }
    if (m.status === "Offline") throw problems.conflict(`machine ${m.machineId} is offline`);
    const statusUrl = `${req.origin}/v1/workspaces/${encodeURIComponent(ws)}/machines/${encodeURIComponent(m.machineId)}/invocations/${encodeURIComponent(b.invocationId)}`;
    const record = this.invocations.start(ws, m.machineId, b, statusUrl);
    this.#evidence(ws, b.invocationId, "Action", `machine ${m.hostname} invoked: ${b.action}`, {
      actor: { kind: "Machine", machineId: m.machineId },
      links: { ...(b.runId ? { runId: b.runId } : {}), ...(b.planId ? { planId: b.planId } : {}) },
    });
    return { status: 202, body: record.response };
  }

  #decide(ws: string, approvalId: string, b: S["DecideApprovalRequest"], user: string): ApprovalRecord {
    const st = this.#store;
    const approval = this.#must(st.approvals, ws, approvalId, "approval");
    if (approval.status !== "Pending") {
      throw problems.conflict(`approval ${approvalId} was already decided (${approval.status})`);
    }
    if (b.sodConstraints?.some((c) => c.kind === "MakerChecker") && approval.requestedByUserId === user) {
      throw problems.forbidden("maker-checker: the requester may not decide their own approval");
    }
    const decided: ApprovalRecord = {
      ...approval,
      status: b.decision,
      decidedAtIso: now(),
      decidedByUserId: user,
      rationale: b.rationale,
    };
    st.approvals.update(ws, approvalId, decided);
    const run = st.runs.get(ws, approval.runId);
    this.#evidence(ws, run?.correlationId ?? approvalId, "Approval", `approval ${b.decision}: ${b.rationale}`, {
      actor: userActor(user),
      links: { runId: approval.runId, planId: approval.planId, approvalId },
    });
    if (run && run.status === "WaitingForApproval") {
      const pending = st.approvals.all(ws, (a) => a.runId === run.runId && a.status === "Pending").length;
      if (b.decision === "Denied") this.#finishRun(run, "Failed", user, "run failed: approval denied");
      else if (b.decision === "RequestChanges") st.runs.update(ws, run.runId, { ...run, status: "Running" });
      else if (pending === 0) this.#finishRun(run, "Succeeded", user, "run succeeded: approvals granted");
    }
    return decided;
  }

  #intervene(ws: string, runId: string, b: S["RunInterventionRequest"], user: string): RunRecord {
    const st = this.#store;
    const run = this.#must(st.runs, ws, runId, "run");
    if (TERMINAL_RUN.has(run.status)) throw problems.conflict(`run ${runId} is already ${run.status}`);
    let next: RunRecord = run;
    switch (b.interventionType) {
      case "pause":
        if (run.status === "Paused") throw problems.conflict(`run ${runId} is already Paused`);
        next = { ...run, status: "Paused" };
        break;
      case "resume": {
        if (run.status !== "Paused") throw problems.conflict(`run ${runId} is ${run.status}, not Paused`);
        const pending = st.approvals.all(ws, (a) => a.runId === runId && a.status === "Pending").length;
        const { controlState: _c, ...rest } = run;
        next = { ...rest, status: pending > 0 ? "WaitingForApproval" : "Running" };
        break;
      }
      case "freeze":
        next = { ...run, controlState: "frozen" };
        break;
      case "handoff":
        next = { ...run, controlState: "operator-owned", operatorOwnerId: b.target ?? user };
        break;
      case "escalate":
        next = { ...run, controlState: "blocked" };
        break;
      case "emergency-disable":
        return this.#finishRun(run, "Cancelled", user, `run disabled: ${b.rationale}`);
      default:
        break;
    }
    if (next !== run) st.runs.update(ws, runId, next);
    this.#evidence(ws, run.correlationId, "OperatorSurface", `intervention ${b.interventionType}: ${b.rationale}`, {
      actor: userActor(user),
      links: { runId },
    });
    return next;
  }

  #finishRun(run: RunRecord, status: S["RunStatus"], user: string, summary: string): RunRecord {
    const st = this.#store;
    const done: RunRecord = { ...run, status, endedAtIso: now() };
    st.runs.update(run.workspaceId, run.runId, done);
    for (const a of st.approvals.all(run.workspaceId, (x) => x.runId === run.runId && x.status === "Pending")) {
      st.approvals.update(run.workspaceId, a.approvalId, { ...a, status: "Expired" });
    }
    this.#evidence(run.workspaceId, run.correlationId, "System", summary, {
      actor: userActor(user),
      links: { runId: run.runId },
    });
    return done;
  }

  /** Appends an entry to the workspace's evidence chain. */
  #evidence(
    ws: string,
    correlationId: string,
    category: S["EvidenceCategory"],
    summary: string,
    extra: { actor?: S["EvidenceActor"]; links?: S["EvidenceLinks"] } = {},
  ): EvidenceRecord {
    const prev = this.#lastHash.get(ws);
    const base = {
      schemaVersion: 1 as const,
      evidenceId: id("ev"),
      workspaceId: ws,
      correlationId,
      occurredAtIso: now(),
      category,
      summary,
      actor: extra.actor ?? { kind: "System" as const },
      ...(extra.links && Object.keys(extra.links).length > 0 ? { links: extra.links } : {}),
      ...(prev ? { previousHash: prev } : {}),
    };
    const entry: EvidenceRecord = { ...base, hashSha256: evidenceEntryHash(base) };
    this.#lastHash.set(ws, entry.hashSha256);
    return this.#store.evidence.insert(ws, entry.evidenceId, entry);
  }

  #page<T>(
    req: PortariumRequest,
    list: string,
    table: Table<T>,
    ws: string,
    filter?: (item: T) => boolean,
  ): PortariumResponse {
    const limit = typeof req.query.limit === "number" ? req.query.limit : 50;
    const after = decodeCursor(list, req.query.cursor as string | undefined);
    const page = table.page(ws, after, limit, filter);
    const body: { items: T[]; nextCursor?: string } = { items: page.items };
    if (page.more && page.lastSeq !== undefined) body.nextCursor = encodeCursor(list, page.lastSeq);
    return ok(body);
  }

  #must<T>(table: Table<T>, ws: string, itemId: string | undefined, what: string): T {
    const item = itemId === undefined ? undefined : table.get(ws, itemId);
    if (item === undefined) throw problems.notFound(`${what} ${itemId}`);
    return item;
  }
}

/** Latency above which a reachable endpoint counts as `slow`. */
const SLOW_MS = 250;

/** Opens (and closes) a TCP connection to an endpoint URL's host and port. */
function probe(endpoint: string, timeoutMs = 2000): Promise<S["ConnectionTestResult"]> {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (result: S["ConnectionTestResult"]) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () =>
      finish({ status: "unreachable", latencyMs: Date.now() - started, errorMessage: "connection timed out" }),
    );
    socket.once("connect", () => {
      const latencyMs = Date.now() - started;
      finish({ status: latencyMs > SLOW_MS ? "slow" : "ok", latencyMs });
    });
    socket.once("error", (err) =>
      finish({
        status: "unreachable",
        latencyMs: Date.now() - started,
        errorMessage: err.message || "connection failed",
      }),
    );
  });
}

const ok = (body: unknown): PortariumResponse => ({ status: 200, body });
const userActor = (userId: string): S["EvidenceActor"] => ({ kind: "User", userId });
