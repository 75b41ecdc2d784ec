import {
  EventType,
  type Project,
  type ProjectConfig,
  ProjectConfigSchema,
  ProjectSchema,
  ProjectStatisticsSchema,
  ProjectStatus,
  QuotaExceededSchema,
  type ResourceQuota,
  ResourceQuotaSchema,
  ResourceUsageSchema,
  type Runner,
  type RunnerEvent,
  RunnerEventSchema,
  RunnerFailureSchema,
  type RunnerMetrics,
  RunnerMetricsSchema,
  RunnerSchema,
  RunnerStateChangeSchema,
  RunnerStatus,
  type Session,
  SessionSchema,
  SessionStatus,
  TranscriptAppendedSchema,
  type TranscriptMessage,
  TranscriptMessageSchema,
} from "@baton/wire/stratavore";
import { clone, create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { makeRoom, trimTo } from "../retention.js";
import { fail, invalid, Reason } from "./errors.js";
import { EventLog, eventId } from "./event-log.js";
import type { ExitInfo, RunnerRuntime } from "./runtime.js";
import type { StratavoreSettings } from "./settings.js";

/** Statuses in which a runner counts against `max_concurrent_runners`. */
export const ACTIVE_STATUSES: ReadonlySet<RunnerStatus> = new Set([
  RunnerStatus.STARTING,
  RunnerStatus.RUNNING,
  RunnerStatus.PAUSED,
  RunnerStatus.STOPPING,
]);

interface ProjectEntry {
  project: Project;
  runnersCreated: number;
  tokensByDay: Map<string, bigint>;
}

interface RunnerEntry {
  runner: Runner;
  tokensByDay: Map<string, bigint>;
  restartCount: number;
  startedAtMs: number;
  /** Set while the daemon itself ends the process (stop, restart): its exit is expected. */
  ending: boolean;
  /** Bumped on every (re)start, so a late exit of an old process is ignored. */
  generation: number;
  /** Set once a token quota refused the process's output: the session ends there, later lines are dropped. */
  quotaReached: boolean;
}

interface SessionEntry {
  session: Session;
  messages: TranscriptMessage[];
  runnerIds: string[];
}

/** What CreateRunner (and ResumeSession) asks for. */
export interface RunnerRequest {
  projectName: string;
  model: string;
  temperature: number;
  maxTokens: number;
  metadata: Record<string, string>;
  runtimeId: string;
  quota: ResourceQuota | undefined;
  sessionId: string;
}

/** A page of a list. */
export interface Page<T> {
  items: T[];
  totalCount: number;
  hasMore: boolean;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/**
 * Stratavore's state and rules: projects with unique names, quotas and true statistics;
 * runners with a real lifecycle, each transition a RunnerEvent; sessions that count tokens
 * and can be resumed; quotas that are never overshot (every check and the change it guards
 * happen in one synchronous step, so concurrent calls cannot interleave between them).
 */
export class StratavoreState {
  readonly events: EventLog;
  readonly runtime: RunnerRuntime;
  readonly counters = { runnersCreated: 0n, runnersFailed: 0n, eventsPublished: 0n, tokensUsed: 0n };
  readonly #settings: StratavoreSettings;
  readonly #now: () => number;
  readonly #projects = new Map<string, ProjectEntry>();
  readonly #runners = new Map<string, RunnerEntry>();
  readonly #sessions = new Map<string, SessionEntry>();
  #ids = 0;

  constructor(settings: StratavoreSettings, runtime: (state: StratavoreState) => RunnerRuntime, now: () => number) {
    this.#settings = settings;
    this.#now = now;
    this.events = new EventLog(settings.eventRetention);
    this.runtime = runtime(this);
  }

  // ---- projects ----

  createProject(p: {
    name: string;
    description: string;
    path: string;
    quota: ResourceQuota | undefined;
    config: ProjectConfig | undefined;
    metadata: Record<string, string>;
  }): { project: Project; warnings: string[] } {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(p.name))
      throw invalid("name", "name must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    if (p.path !== "" && !p.path.startsWith("/")) throw invalid("path", "path must be an absolute directory path");
    if (this.#projects.has(p.name))
      throw fail(Code.AlreadyExists, Reason.projectExists, `project ${p.name} already exists`, {
        project_name: p.name,
      });
    const quota = this.#checkQuota(p.quota, "quota");
    const config = p.config ? clone(ProjectConfigSchema, p.config) : create(ProjectConfigSchema);
    this.#checkConfig(config);
    const now = timestampFromMs(this.#now());
    const project = create(ProjectSchema, {
      name: p.name,
      description: p.description,
      path: p.path,
      status: ProjectStatus.ACTIVE,
      quota,
      config,
      createdAt: now,
      updatedAt: now,
      metadata: { ...p.metadata },
    });
    this.#projects.set(p.name, { project, runnersCreated: 0, tokensByDay: new Map() });
    const warnings: string[] = [];
    if (p.path === "") warnings.push("no path: the process runtime runs runners in the daemon's working directory");
    if (quota.maxConcurrentRunners === 0) warnings.push("no max_concurrent_runners: runners are unlimited");
    return { project: this.projectView(p.name, true), warnings };
  }

  projectView(name: string, includeStats: boolean): Project {
    const entry = this.#project(name);
    const p = clone(ProjectSchema, entry.project);
    if (includeStats) p.statistics = this.#statistics(entry);
    return p;
  }

  listProjects(status: ProjectStatus, includeStats: boolean, limit: number, offset: number): Page<Project> {
    const all = [...this.#projects.values()].filter(
      (e) => status === ProjectStatus.UNSPECIFIED || e.project.status === status,
    );
    return page(all, limit, offset, (e) => this.projectView(e.project.name, includeStats));
  }

  updateProject(u: {
    name: string;
    description?: string | undefined;
    path?: string | undefined;
    status: ProjectStatus;
    quota: ResourceQuota | undefined;
    config: ProjectConfig | undefined;
    metadata: Record<string, string>;
  }): Project {
    const entry = this.#project(u.name);
    const p = entry.project;
    if (u.path !== undefined && u.path !== "" && !u.path.startsWith("/"))
      throw invalid("path", "path must be an absolute directory path");
    if (u.status !== ProjectStatus.UNSPECIFIED && ProjectStatus[u.status] === undefined)
      throw invalid("status", `unknown project status ${u.status}`);
    const quota = u.quota ? this.#checkQuota(u.quota, "quota") : undefined;
    if (u.config) this.#checkConfig(u.config);
    if (u.description !== undefined) p.description = u.description;
    if (u.path !== undefined) p.path = u.path;
    if (u.status !== ProjectStatus.UNSPECIFIED) p.status = u.status;
    if (quota) p.quota = quota;
    if (u.config) p.config = clone(ProjectConfigSchema, u.config);
    mergeMetadata(p.metadata, u.metadata);
    p.updatedAt = timestampFromMs(this.#now());
    return this.projectView(u.name, true);
  }

  deleteProject(name: string): void {
    const entry = this.#project(name);
    const active = this.#projectRunners(name).filter((r) => ACTIVE_STATUSES.has(r.runner.status)).length;
    if (active > 0)
      throw fail(
        Code.FailedPrecondition,
        Reason.projectHasActiveRunners,
        `project ${name} has ${active} active runner(s): stop them first`,
        { project_name: name, active_runners: String(active) },
      );
    for (const r of this.#projectRunners(name)) this.#runners.delete(r.runner.id);
    for (const [id, s] of this.#sessions) if (s.session.projectName === name) this.#sessions.delete(id);
    this.#projects.delete(entry.project.name);
  }

  get projectCount(): number {
    return this.#projects.size;
  }

  // ---- runners ----

  /**
   * Creates a runner, STARTING, and starts it in the runtime (RUNNING once it runs, FAILED
   * when it cannot start). Everything up to the insert is synchronous: quotas hold under
   * concurrent calls.
   */
  createRunner(req: RunnerRequest, resumed = false): { runner: Runner; warnings: string[] } {
    const entry = this.#project(req.projectName);
    const project = entry.project;
    if (project.status !== ProjectStatus.ACTIVE)
      throw fail(
        Code.FailedPrecondition,
        Reason.projectNotActive,
        `project ${project.name} is ${ProjectStatus[project.status]}: it takes no new runners`,
        { project_name: project.name },
      );
    const config = project.config ?? create(ProjectConfigSchema);
    const model = req.model || config.defaultModel || (this.#settings.models[0] ?? "");
    if (!this.#settings.models.includes(model))
      throw fail(
        Code.InvalidArgument,
        Reason.unknownModel,
        `unknown model ${model}: use one of ${this.#settings.models.join(", ")}`,
        { field: "model", model },
      );
    const temperature = req.temperature === 0 ? config.defaultTemperature : req.temperature;
    this.#checkTemperature(temperature, "temperature");
    const maxTokens = req.maxTokens === 0 ? config.defaultMaxTokens || 4096 : req.maxTokens;
    this.#checkMaxTokens(maxTokens, "max_tokens");
    const quota = req.quota ? this.#checkQuota(req.quota, "quota") : undefined;
    if (req.runtimeId !== "" && [...this.#runners.values()].some((r) => r.runner.runtimeId === req.runtimeId))
      throw fail(Code.AlreadyExists, Reason.runnerExists, `runtime id ${req.runtimeId} is taken`, {
        runtime_id: req.runtimeId,
      });
    const max = project.quota?.maxConcurrentRunners ?? 0;
    const active = this.#projectRunners(project.name).filter((r) => ACTIVE_STATUSES.has(r.runner.status)).length;
    if (max > 0 && active + 1 > max)
      throw this.#quotaError("max_concurrent_runners", "project", BigInt(max), BigInt(active + 1), project.name);
    let session: SessionEntry | undefined;
    if (req.sessionId !== "") session = this.#session(req.sessionId);
    this.#runnerRoom();
    if (!session) this.#sessionRoom();

    const nowMs = this.#now();
    const now = timestampFromMs(nowMs);
    const id = this.#newId("run");
    const runner = create(RunnerSchema, {
      id,
      projectName: project.name,
      status: RunnerStatus.STARTING,
      model,
      temperature,
      maxTokens,
      runtimeId: req.runtimeId || `${this.runtime.kind}-${id}`,
      createdAt: now,
      updatedAt: now,
      lastHeartbeat: now,
      metadata: { ...req.metadata },
      resourceUsage: create(ResourceUsageSchema, { lastUpdated: now }),
      ...(quota ? { quota } : {}),
    });
    const r: RunnerEntry = {
      runner,
      tokensByDay: new Map(),
      restartCount: 0,
      startedAtMs: nowMs,
      ending: false,
      generation: 0,
      quotaReached: false,
    };
    this.#runners.set(id, r);
    entry.runnersCreated++;
    this.counters.runnersCreated++;
    if (session) {
      session.session.runnerId = id;
      session.session.status = SessionStatus.ACTIVE;
      session.session.updatedAt = now;
      session.runnerIds.push(id);
    } else {
      session = this.#newSession(r, {});
    }
    runner.sessionId = session.session.id;
    this.#emit(EventType.RUNNER_CREATED, r, this.#change(RunnerStatus.UNSPECIFIED, r, resumed ? "resumed" : "created"));
    this.#start(r, resumed || req.sessionId !== "");
    return { runner: clone(RunnerSchema, runner), warnings: [] };
  }

  runnerView(id: string): Runner {
    const r = this.#runner(id);
    this.#refreshUsage(r);
    return clone(RunnerSchema, r.runner);
  }

  runnerMetrics(id: string): RunnerMetrics {
    const r = this.#runner(id);
    const usage = this.runtime.usage(id);
    const s = this.#sessions.get(r.runner.sessionId);
    return create(RunnerMetricsSchema, {
      cpuPercent: usage.cpuPercent,
      memoryMb: BigInt(usage.memoryMb),
      tokensUsed: r.runner.resourceUsage?.tokensUsed ?? 0n,
      uptimeSeconds: ACTIVE_STATUSES.has(r.runner.status)
        ? BigInt(Math.floor((this.#now() - r.startedAtMs) / 1000))
        : 0n,
      restartCount: r.restartCount,
      messageCount: BigInt(s?.messages.length ?? 0),
      collectedAt: timestampFromMs(this.#now()),
    });
  }

  sessionOfRunner(id: string): Session | undefined {
    const s = this.#sessions.get(this.#runner(id).runner.sessionId);
    return s ? clone(SessionSchema, s.session) : undefined;
  }

  listRunners(f: {
    projectName: string;
    status: RunnerStatus;
    metadataFilter: Record<string, string>;
    limit: number;
    offset: number;
  }): Page<Runner> {
    if (f.projectName !== "") this.#project(f.projectName);
    const all = [...this.#runners.values()].filter(
      (r) =>
        (f.projectName === "" || r.runner.projectName === f.projectName) &&
        (f.status === RunnerStatus.UNSPECIFIED || r.runner.status === f.status) &&
        Object.entries(f.metadataFilter).every(([k, v]) => r.runner.metadata[k] === v),
    );
    return page(all, f.limit, f.offset, (r) => this.runnerView(r.runner.id));
  }

  activeRunnerIds(): string[] {
    return [...this.#runners.values()].filter((r) => ACTIVE_STATUSES.has(r.runner.status)).map((r) => r.runner.id);
  }

  updateRunner(u: {
    runnerId: string;
    temperature?: number | undefined;
    maxTokens?: number | undefined;
    metadata: Record<string, string>;
    status: RunnerStatus;
    quota: ResourceQuota | undefined;
  }): Runner {
    const r = this.#runner(u.runnerId);
    if (u.temperature !== undefined) this.#checkTemperature(u.temperature, "temperature");
    if (u.maxTokens !== undefined) this.#checkMaxTokens(u.maxTokens, "max_tokens");
    const quota = u.quota ? this.#checkQuota(u.quota, "quota") : undefined;
    const from = r.runner.status;
    if (u.status !== RunnerStatus.UNSPECIFIED && u.status !== from) {
      const pause = u.status === RunnerStatus.PAUSED && from === RunnerStatus.RUNNING;
      const resume = u.status === RunnerStatus.RUNNING && from === RunnerStatus.PAUSED;
      if (!pause && !resume)
        throw fail(
          Code.FailedPrecondition,
          Reason.runnerNotActive,
          `runner ${r.runner.id} is ${RunnerStatus[from]}: status can only go RUNNING to PAUSED and back (use StopRunner or RestartRunner)`,
          { runner_id: r.runner.id, status: RunnerStatus[from] ?? String(from) },
        );
    }
    if (u.temperature !== undefined) r.runner.temperature = u.temperature;
    if (u.maxTokens !== undefined) r.runner.maxTokens = u.maxTokens;
    if (quota) r.runner.quota = quota;
    mergeMetadata(r.runner.metadata, u.metadata);
    this.#touch(r);
    if (u.status === RunnerStatus.PAUSED && from === RunnerStatus.RUNNING) {
      this.runtime.pause(r.runner.id);
      this.#transition(r, RunnerStatus.PAUSED, EventType.RUNNER_PAUSED, "paused");
    } else if (u.status === RunnerStatus.RUNNING && from === RunnerStatus.PAUSED) {
      this.runtime.resume(r.runner.id);
      this.#transition(r, RunnerStatus.RUNNING, EventType.RUNNER_RESUMED, "resumed");
    } else {
      this.#emit(EventType.RUNNER_UPDATED, r, this.#change(from, r, "updated"));
    }
    return clone(RunnerSchema, r.runner);
  }

  /** STOPPING, the process ended, TERMINATED. Stopping a stopped runner is FAILED_PRECONDITION. */
  async stopRunner(id: string, force: boolean, reason: string): Promise<Runner> {
    const r = this.#runner(id);
    if (!ACTIVE_STATUSES.has(r.runner.status) || r.runner.status === RunnerStatus.STOPPING) {
      if (r.runner.status === RunnerStatus.STOPPING) await this.runtime.stop(id, force);
      else
        throw fail(
          Code.FailedPrecondition,
          Reason.runnerNotActive,
          `runner ${id} is ${RunnerStatus[r.runner.status]}: nothing to stop`,
          { runner_id: id, status: RunnerStatus[r.runner.status] ?? "" },
        );
      return clone(RunnerSchema, r.runner);
    }
    await this.#end(r, force, reason || "stopped on request");
    return clone(RunnerSchema, r.runner);
  }

  /** Ends the runner's process if it runs, then starts it again (RESTARTED, STARTING, RUNNING). */
  async restartRunner(id: string, newSession: boolean): Promise<Runner> {
    const r = this.#runner(id);
    if (r.runner.status === RunnerStatus.STOPPING)
      throw fail(Code.FailedPrecondition, Reason.runnerActive, `runner ${id} is stopping: wait for it to end`, {
        runner_id: id,
      });
    if (!ACTIVE_STATUSES.has(r.runner.status)) {
      const project = this.#project(r.runner.projectName).project;
      const max = project.quota?.maxConcurrentRunners ?? 0;
      const active = this.#projectRunners(project.name).filter((x) => ACTIVE_STATUSES.has(x.runner.status)).length;
      if (max > 0 && active + 1 > max)
        throw this.#quotaError("max_concurrent_runners", "project", BigInt(max), BigInt(active + 1), project.name);
    } else {
      await this.#end(r, false, "restarting", false);
    }
    if (newSession) this.#sessionRoom();
    r.restartCount++;
    if (newSession) {
      const old = this.#sessions.get(r.runner.sessionId);
      if (old) old.session.status = SessionStatus.CLOSED;
      r.runner.sessionId = this.#newSession(r, {}).session.id;
    }
    const from = r.runner.status;
    r.runner.status = RunnerStatus.STARTING;
    r.runner.statusReason = "restarting";
    this.#touch(r);
    this.#sessionFollows(r);
    this.#emit(EventType.RUNNER_RESTARTED, r, this.#change(from, r, "restarted"));
    this.#start(r, !newSession);
    return clone(RunnerSchema, r.runner);
  }

  async deleteRunner(id: string, force: boolean): Promise<void> {
    const r = this.#runner(id);
    if (ACTIVE_STATUSES.has(r.runner.status)) {
      if (!force)
        throw fail(
          Code.FailedPrecondition,
          Reason.runnerActive,
          `runner ${id} is ${RunnerStatus[r.runner.status]}: stop it first or delete with force`,
          { runner_id: id },
        );
      await this.#end(r, true, "deleted");
    }
    this.#emit(EventType.RUNNER_DELETED, r, this.#change(r.runner.status, r, "deleted"));
    this.#runners.delete(id);
  }

  /** Runners whose process died on its own become FAILED (or TERMINATED when it exited 0). */
  reconcile(
    dryRun: boolean,
    projectName: string,
  ): {
    checked: number;
    actions: { runner: Runner; from: RunnerStatus; to: RunnerStatus; reason: string }[];
  } {
    if (projectName !== "") this.#project(projectName);
    const actions: { runner: Runner; from: RunnerStatus; to: RunnerStatus; reason: string }[] = [];
    let checked = 0;
    for (const r of [...this.#runners.values()]) {
      if (projectName !== "" && r.runner.projectName !== projectName) continue;
      if (!ACTIVE_STATUSES.has(r.runner.status) || r.ending) continue;
      checked++;
      const exit = this.runtime.exitOf(r.runner.id);
      if (!exit) continue;
      const to = exit.code === 0 ? RunnerStatus.TERMINATED : RunnerStatus.FAILED;
      const reason = describeExit(exit);
      const from = r.runner.status;
      if (!dryRun) this.#settle(r, to, reason, exit);
      actions.push({ runner: clone(RunnerSchema, r.runner), from, to, reason });
    }
    return { checked, actions };
  }

  // ---- sessions ----

  createSession(runnerId: string, metadata: Record<string, string>, messages: TranscriptMessage[]): Session {
    const r = this.#runner(runnerId);
    if (!ACTIVE_STATUSES.has(r.runner.status) || r.runner.status === RunnerStatus.STOPPING)
      throw fail(
        Code.FailedPrecondition,
        Reason.runnerNotActive,
        `runner ${runnerId} is ${RunnerStatus[r.runner.status]}: a session needs an active runner`,
        { runner_id: runnerId },
      );
    messages.forEach((m, i) => {
      if (!["user", "assistant", "system"].includes(m.role))
        throw invalid(`messages[${i}].role`, "role must be user, assistant or system");
      if (m.tokens < 0n) throw invalid(`messages[${i}].tokens`, "tokens must not be negative");
    });
    const total = messages.reduce((n, m) => n + m.tokens, 0n);
    const refusal = this.#tokenRefusal(r, total);
    if (refusal)
      throw this.#quotaError(refusal.limit, refusal.scope, refusal.max, refusal.requested, r.runner.projectName);
    this.#sessionRoom();
    const old = this.#sessions.get(r.runner.sessionId);
    if (old) old.session.status = SessionStatus.CLOSED;
    const s = this.#newSession(r, metadata);
    r.runner.sessionId = s.session.id;
    this.#touch(r);
    for (const m of messages) this.#append(r, s, clone(TranscriptMessageSchema, m));
    return clone(SessionSchema, s.session);
  }

  sessionView(id: string): Session {
    return clone(SessionSchema, this.#session(id).session);
  }

  transcript(id: string): { session: Session; messages: TranscriptMessage[]; runnerIds: string[] } {
    const s = this.#session(id);
    return {
      session: clone(SessionSchema, s.session),
      messages: s.messages.map((m) => clone(TranscriptMessageSchema, m)),
      runnerIds: [...s.runnerIds],
    };
  }

  listSessions(f: {
    projectName: string;
    runnerId: string;
    status: SessionStatus;
    limit: number;
    offset: number;
  }): Page<Session> {
    const all = [...this.#sessions.values()].filter(
      (s) =>
        (f.projectName === "" || s.session.projectName === f.projectName) &&
        (f.runnerId === "" || s.runnerIds.includes(f.runnerId)) &&
        (f.status === SessionStatus.UNSPECIFIED || s.session.status === f.status),
    );
    return page(all, f.limit, f.offset, (s) => clone(SessionSchema, s.session));
  }

  /** A new runner continues a session whose runner stopped or failed. */
  resumeSession(req: {
    sessionId: string;
    model: string;
    temperature: number;
    maxTokens: number;
    metadata: Record<string, string>;
  }): { session: Session; runner: Runner } {
    const s = this.#session(req.sessionId);
    const owner = this.#runners.get(s.session.runnerId);
    if (owner && ACTIVE_STATUSES.has(owner.runner.status))
      throw fail(
        Code.FailedPrecondition,
        Reason.sessionActive,
        `session ${req.sessionId} is still being written by runner ${owner.runner.id}: stop it first`,
        { session_id: req.sessionId, runner_id: owner.runner.id },
      );
    const { runner } = this.createRunner(
      {
        projectName: s.session.projectName,
        model: req.model || s.session.model,
        temperature: req.temperature || (owner?.runner.temperature ?? 0),
        maxTokens: req.maxTokens || (owner?.runner.maxTokens ?? 0),
        metadata: req.metadata,
        runtimeId: "",
        quota: undefined,
        sessionId: s.session.id,
      },
      true,
    );
    return { session: clone(SessionSchema, s.session), runner };
  }

  // ---- runtime callbacks ----

  /** A stdout line of a runner's process, already parsed. */
  output(
    runnerId: string,
    m: { role: string; content: string; tokens: bigint; metadata: Record<string, string> },
  ): void {
    const r = this.#runners.get(runnerId);
    if (!r) return;
    const s = this.#sessions.get(r.runner.sessionId);
    if (!s || r.quotaReached) return;
    const refusal = this.#tokenRefusal(r, m.tokens);
    if (refusal) {
      r.quotaReached = true;
      if (r.ending) return;
      this.#emit(EventType.QUOTA_EXCEEDED, r, [QuotaExceededSchema, create(QuotaExceededSchema, refusal)] as const);
      void this.#end(r, false, `quota ${refusal.limit} reached`).catch(() => {});
      return;
    }
    this.#append(r, s, create(TranscriptMessageSchema, { ...m, timestamp: timestampFromMs(this.#now()) }));
    r.runner.lastHeartbeat = timestampFromMs(this.#now());
  }

  /** A runner's process ended. Unexpected ends are recorded and settled by Reconcile. */
  exited(_runnerId: string, _info: ExitInfo): void {
    // The daemon notices a process that died on its own when it reconciles, as Stratavore's
    // reconciler does; ends the daemon caused are settled by #end.
  }

  // ---- internals ----

  #start(r: RunnerEntry, resumed: boolean): void {
    const generation = ++r.generation;
    const project = this.#project(r.runner.projectName).project;
    r.startedAtMs = this.#now();
    r.ending = false;
    r.quotaReached = false;
    this.runtime
      .start({
        runnerId: r.runner.id,
        sessionId: r.runner.sessionId,
        projectName: r.runner.projectName,
        path: project.path || process.cwd(),
        model: r.runner.model,
        temperature: r.runner.temperature,
        maxTokens: r.runner.maxTokens,
        environment: { ...(project.config?.environment ?? {}) },
        resumed,
      })
      .then(
        () => {
          if (r.generation !== generation || r.runner.status !== RunnerStatus.STARTING) return;
          this.#transition(r, RunnerStatus.RUNNING, EventType.RUNNER_STARTED, "running");
        },
        (err: unknown) => {
          if (r.generation !== generation) return;
          this.#settle(r, RunnerStatus.FAILED, `could not start: ${err instanceof Error ? err.message : String(err)}`, {
            code: null,
            signal: null,
          });
        },
      );
  }

  /** STOPPING, end the process, then TERMINATED (unless `settle` is false: a restart). */
  async #end(r: RunnerEntry, force: boolean, reason: string, settle = true): Promise<void> {
    r.ending = true;
    if (r.runner.status !== RunnerStatus.STOPPING)
      this.#transition(r, RunnerStatus.STOPPING, EventType.RUNNER_STOPPING, reason);
    await this.runtime.stop(r.runner.id, force);
    if (settle && r.runner.status === RunnerStatus.STOPPING)
      this.#settle(r, RunnerStatus.TERMINATED, reason, this.runtime.exitOf(r.runner.id));
  }

  #settle(r: RunnerEntry, to: RunnerStatus, reason: string, exit: ExitInfo | undefined): void {
    const from = r.runner.status;
    r.runner.status = to;
    r.runner.statusReason = reason;
    this.#touch(r);
    this.#sessionFollows(r);
    if (to === RunnerStatus.FAILED) {
      this.counters.runnersFailed++;
      this.#emit(EventType.RUNNER_FAILED, r, [
        RunnerFailureSchema,
        create(RunnerFailureSchema, {
          previousStatus: from,
          reason,
          exitCode: exit?.code ?? -1,
          signal: exit?.signal ?? "",
        }),
      ] as const);
    } else {
      this.#emit(EventType.RUNNER_STOPPED, r, this.#change(from, r, reason));
    }
  }

  #transition(r: RunnerEntry, to: RunnerStatus, type: EventType, reason: string): void {
    const from = r.runner.status;
    r.runner.status = to;
    r.runner.statusReason = reason;
    this.#touch(r);
    this.#sessionFollows(r);
    this.#emit(type, r, this.#change(from, r, reason));
  }

  #sessionFollows(r: RunnerEntry): void {
    const s = this.#sessions.get(r.runner.sessionId);
    if (!s || s.session.runnerId !== r.runner.id) return;
    const st = r.runner.status;
    s.session.status =
      st === RunnerStatus.FAILED
        ? SessionStatus.FAILED
        : st === RunnerStatus.TERMINATED
          ? SessionStatus.COMPLETED
          : SessionStatus.ACTIVE;
    s.session.updatedAt = timestampFromMs(this.#now());
  }

  #touch(r: RunnerEntry): void {
    const now = timestampFromMs(this.#now());
    r.runner.updatedAt = now;
    if (ACTIVE_STATUSES.has(r.runner.status)) r.runner.lastHeartbeat = now;
  }

  #refreshUsage(r: RunnerEntry): void {
    if (!ACTIVE_STATUSES.has(r.runner.status) || this.runtime.kind !== "process") return;
    const u = this.runtime.usage(r.runner.id);
    const usage = r.runner.resourceUsage ?? create(ResourceUsageSchema);
    usage.cpuPercent = u.cpuPercent;
    usage.memoryMb = BigInt(u.memoryMb);
    usage.lastUpdated = timestampFromMs(this.#now());
    r.runner.resourceUsage = usage;
    // A process that is still there is a heartbeat.
    if (!this.runtime.exitOf(r.runner.id)) r.runner.lastHeartbeat = usage.lastUpdated;
  }

  /**
   * Makes room for one more runner: the oldest ended runners are forgotten.
   *
   * @throws {ConnectError} RESOURCE_EXHAUSTED when `maxRunners` are kept and none has ended.
   */
  #runnerRoom(): void {
    const max = this.#settings.maxRunners;
    if (!makeRoom(this.#runners, max, (r) => !ACTIVE_STATUSES.has(r.runner.status)))
      throw fail(
        Code.ResourceExhausted,
        Reason.retentionFull,
        `${max} runners are kept and every one is active (stratavore.maxRunners)`,
        { max: String(max) },
      );
  }

  /**
   * Makes room for one more session: the oldest non-active sessions whose runners are all
   * ended or gone are forgotten, transcript and all.
   *
   * @throws {ConnectError} RESOURCE_EXHAUSTED when `maxSessions` are kept and none may go.
   */
  #sessionRoom(): void {
    const max = this.#settings.maxSessions;
    const idle = (s: SessionEntry) =>
      s.session.status !== SessionStatus.ACTIVE &&
      s.runnerIds.every((id) => {
        const r = this.#runners.get(id);
        return !r || !ACTIVE_STATUSES.has(r.runner.status) || r.runner.sessionId !== s.session.id;
      });
    if (!makeRoom(this.#sessions, max, idle))
      throw fail(
        Code.ResourceExhausted,
        Reason.retentionFull,
        `${max} sessions are kept and every one is in use (stratavore.maxSessions)`,
        { max: String(max) },
      );
  }

  #newSession(r: RunnerEntry, metadata: Record<string, string>): SessionEntry {
    const now = timestampFromMs(this.#now());
    const s: SessionEntry = {
      session: create(SessionSchema, {
        id: this.#newId("ses"),
        runnerId: r.runner.id,
        projectName: r.runner.projectName,
        status: SessionStatus.ACTIVE,
        createdAt: now,
        updatedAt: now,
        lastActivity: now,
        model: r.runner.model,
        metadata: { ...metadata },
      }),
      messages: [],
      runnerIds: [r.runner.id],
    };
    this.#sessions.set(s.session.id, s);
    return s;
  }

  #append(r: RunnerEntry, s: SessionEntry, m: TranscriptMessage): void {
    const nowMs = this.#now();
    m.timestamp ??= timestampFromMs(nowMs);
    s.messages.push(m);
    trimTo(s.messages, this.#settings.maxTranscriptMessages);
    s.session.tokenCount += m.tokens;
    s.session.lastActivity = timestampFromMs(nowMs);
    s.session.updatedAt = s.session.lastActivity;
    const usage = r.runner.resourceUsage ?? create(ResourceUsageSchema);
    usage.tokensUsed += m.tokens;
    usage.lastUpdated = s.session.lastActivity;
    r.runner.resourceUsage = usage;
    const day = utcDay(nowMs);
    addToday(r.tokensByDay, day, m.tokens);
    const p = this.#projects.get(r.runner.projectName);
    if (p) addToday(p.tokensByDay, day, m.tokens);
    this.counters.tokensUsed += m.tokens;
    this.#emit(EventType.TRANSCRIPT_APPENDED, r, [
      TranscriptAppendedSchema,
      create(TranscriptAppendedSchema, {
        sessionId: s.session.id,
        role: m.role,
        tokens: m.tokens,
        totalTokens: s.session.tokenCount,
      }),
    ] as const);
  }

  /** The quota `tokens` more would break, if any (the project's, then the runner's). */
  #tokenRefusal(
    r: RunnerEntry,
    tokens: bigint,
  ): { limit: string; scope: string; max: bigint; requested: bigint } | undefined {
    if (tokens === 0n) return undefined;
    const day = utcDay(this.#now());
    const p = this.#projects.get(r.runner.projectName);
    const pMax = p?.project.quota?.maxTokensPerDay ?? 0n;
    const pUsed = (p?.tokensByDay.get(day) ?? 0n) + tokens;
    if (pMax > 0n && pUsed > pMax)
      return { limit: "max_tokens_per_day", scope: "project", max: pMax, requested: pUsed };
    const rMax = r.runner.quota?.maxTokensPerDay ?? 0n;
    const rUsed = (r.tokensByDay.get(day) ?? 0n) + tokens;
    if (rMax > 0n && rUsed > rMax) return { limit: "max_tokens_per_day", scope: "runner", max: rMax, requested: rUsed };
    return undefined;
  }

  #quotaError(limit: string, scope: string, max: bigint, requested: bigint, project: string) {
    return fail(
      Code.ResourceExhausted,
      Reason.quotaExceeded,
      `quota exceeded: ${limit} of ${scope} ${project} is ${max}, this would make it ${requested}`,
      { limit, scope, max: String(max), requested: String(requested), project_name: project },
    );
  }

  #change(from: RunnerStatus, r: RunnerEntry, reason: string) {
    return [
      RunnerStateChangeSchema,
      create(RunnerStateChangeSchema, {
        previousStatus: from,
        status: r.runner.status,
        reason,
        runner: clone(RunnerSchema, r.runner),
      }),
    ] as const;
  }

  #emit<D extends DescMessage>(type: EventType, r: RunnerEntry, payload: readonly [D, MessageShape<D>]): RunnerEvent {
    const event = create(RunnerEventSchema, {
      eventId: eventId(this.events.nextSeq()),
      eventType: type,
      timestamp: timestampFromMs(this.#now()),
      runnerId: r.runner.id,
      projectName: r.runner.projectName,
      payload: anyPack(payload[0], payload[1]),
      metadata: { ...r.runner.metadata, status: RunnerStatus[r.runner.status] ?? "" },
    });
    this.counters.eventsPublished++;
    this.events.publish(event);
    return event;
  }

  #statistics(entry: ProjectEntry) {
    const name = entry.project.name;
    const runners = this.#projectRunners(name);
    const sessions = [...this.#sessions.values()].filter((s) => s.session.projectName === name);
    let total = 0n;
    for (const s of sessions) total += s.session.tokenCount;
    return create(ProjectStatisticsSchema, {
      activeRunners: runners.filter((r) => ACTIVE_STATUSES.has(r.runner.status)).length,
      totalRunners: entry.runnersCreated,
      totalSessions: BigInt(sessions.length),
      totalTokensUsed: total,
      tokensUsedToday: entry.tokensByDay.get(utcDay(this.#now())) ?? 0n,
    });
  }

  #checkQuota(q: ResourceQuota | undefined, field: string): ResourceQuota {
    const quota = q ? clone(ResourceQuotaSchema, q) : create(ResourceQuotaSchema);
    if (quota.maxConcurrentRunners < 0) throw invalid(`${field}.max_concurrent_runners`, "must not be negative");
    if (quota.maxMemoryMb < 0n) throw invalid(`${field}.max_memory_mb`, "must not be negative");
    if (quota.maxCpuPercent < 0) throw invalid(`${field}.max_cpu_percent`, "must not be negative");
    if (quota.maxTokensPerDay < 0n) throw invalid(`${field}.max_tokens_per_day`, "must not be negative");
    return quota;
  }

  #checkConfig(c: ProjectConfig): void {
    if (c.defaultModel !== "" && !this.#settings.models.includes(c.defaultModel))
      throw fail(Code.InvalidArgument, Reason.unknownModel, `unknown model ${c.defaultModel}`, {
        field: "config.default_model",
        model: c.defaultModel,
      });
    this.#checkTemperature(c.defaultTemperature, "config.default_temperature");
    if (c.defaultMaxTokens !== 0) this.#checkMaxTokens(c.defaultMaxTokens, "config.default_max_tokens");
  }

  #checkTemperature(t: number, field: string): void {
    if (!Number.isFinite(t) || t < 0 || t > this.#settings.maxTemperature)
      throw invalid(field, `${field} must be from 0 to ${this.#settings.maxTemperature}, got ${t}`);
  }

  #checkMaxTokens(n: number, field: string): void {
    if (!Number.isInteger(n) || n < 1 || n > this.#settings.maxTokensLimit)
      throw invalid(field, `${field} must be from 1 to ${this.#settings.maxTokensLimit}, got ${n}`);
  }

  #project(name: string): ProjectEntry {
    if (name === "") throw invalid("project_name", "project_name is required");
    const p = this.#projects.get(name);
    if (!p) throw fail(Code.NotFound, Reason.projectNotFound, `no project ${name}`, { project_name: name });
    return p;
  }

  #runner(id: string): RunnerEntry {
    if (id === "") throw invalid("runner_id", "runner_id is required");
    const r = this.#runners.get(id);
    if (!r) throw fail(Code.NotFound, Reason.runnerNotFound, `no runner ${id}`, { runner_id: id });
    return r;
  }

  #session(id: string): SessionEntry {
    if (id === "") throw invalid("session_id", "session_id is required");
    const s = this.#sessions.get(id);
    if (!s) throw fail(Code.NotFound, Reason.sessionNotFound, `no session ${id}`, { session_id: id });
    return s;
  }

  #projectRunners(name: string): RunnerEntry[] {
    return [...this.#runners.values()].filter((r) => r.runner.projectName === name);
  }

  #newId(prefix: string): string {
    this.#ids++;
    return `${prefix}-${this.#ids.toString().padStart(6, "0")}-${Math.random().toString(36).slice(2, 8)}`;
  }
}

/** One page by offset; `limit` 0 is the default page size. */
export function page<T, R>(all: T[], limit: number, offset: number, view: (t: T) => R): Page<R> {
  if (limit < 0) throw invalid("limit", "limit must not be negative");
  if (offset < 0) throw invalid("offset", "offset must not be negative");
  const size = Math.min(limit || DEFAULT_PAGE, MAX_PAGE);
  const slice = all.slice(offset, offset + size);
  return { items: slice.map(view), totalCount: all.length, hasMore: offset + slice.length < all.length };
}

function mergeMetadata(target: Record<string, string>, changes: Record<string, string>): void {
  for (const [k, v] of Object.entries(changes)) {
    if (v === "") delete target[k];
    else target[k] = v;
  }
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function describeExit(exit: ExitInfo): string {
  if (exit.error) return `process could not run: ${exit.error}`;
  if (exit.signal) return `process died: killed by ${exit.signal}`;
  return exit.code === 0 ? "process exited 0" : `process died: exited with code ${exit.code}`;
}

/** Adds tokens to today's count; quotas are daily, so earlier days are forgotten. */
function addToday(byDay: Map<string, bigint>, day: string, tokens: bigint): void {
  const today = byDay.get(day);
  if (today === undefined) byDay.clear();
  byDay.set(day, (today ?? 0n) + tokens);
}
