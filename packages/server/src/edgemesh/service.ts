import { randomUUID } from "node:crypto";
import { arch, cpus, freemem, hostname, platform, release, totalmem, uptime } from "node:os";
import {
  type AITaskRequest,
  type DeviceInfo,
  DeviceInfoSchema,
  type DeviceStatus,
  DeviceStatusSchema,
  estimatePlanCost,
  type GetActivityRequest,
  type JobRequest,
  type LLMTaskRequest,
  type MetricsHistoryResponse,
  type MetricsHistoryResponseSchema,
  type OrchestratorService,
  type Plan,
  PlanSchema,
  type ReadFileRequest,
  type RoutedCommandRequest,
  RoutingPolicy_Mode,
  type TaskRequest,
  type TaskResult,
  TaskResultSchema,
} from "@baton/wire/edgemesh";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { errorWithInfo } from "../error-info.js";
import { makeRoom } from "../retention.js";
import { runCommand } from "./commands.js";
import { readConfined, TicketBook } from "./files.js";
import { type JobRecord, planJob, runJob, TASK_KINDS, type TaskRecord } from "./jobs.js";
import { generate } from "./llm.js";
import { LoadHistory, type LoadSample, sampleLoad } from "./metrics.js";
import { forwarded, Peers } from "./peers.js";
import { type DeviceRecord, DeviceRegistry } from "./registry.js";
import { selectDevice } from "./routing.js";
import type { EdgemeshSettings } from "./settings.js";

const secs = (ms: number) => BigInt(Math.floor(ms / 1000));

/** `process.platform` and `process.arch` in edgemesh's spelling (`windows`, `amd64`). */
function ownPlatform(): { platform: string; arch: string } {
  const p = platform();
  const a = arch();
  return { platform: p === "win32" ? "windows" : p, arch: a === "x64" ? "amd64" : a === "ia32" ? "386" : a };
}

/** A task running now, for GetActivity. */
interface Running {
  task: TaskRecord;
  jobId: string;
}

/** edgemesh's rules: sessions, registry, routing, forwarding, jobs, files, chat memory. */
export class EdgemeshService {
  readonly settings: EdgemeshSettings;
  readonly registry: DeviceRegistry;
  readonly tickets: TicketBook;
  readonly #clock: Clock;
  readonly #sessions = new Map<string, { deviceName: string; expiresMs: number }>();
  readonly #peers: Peers;
  readonly #jobs = new Map<string, JobRecord>();
  readonly #running = new Set<Running>();
  readonly #history: LoadHistory;
  #memory = { lastUpdatedMs: 0n, json: "" };
  readonly #webrtcStreams = new Set<string>();

  constructor(settings: EdgemeshSettings, clock: Clock) {
    this.settings = settings;
    this.#clock = clock;
    this.registry = new DeviceRegistry(clock, settings.staleAfterMs, settings.maxDevices);
    this.tickets = new TicketBook(clock, settings.ticketTtlMs);
    this.#peers = new Peers(settings.securityKey, settings.deviceName);
    this.#history = new LoadHistory(settings.metricsHistory);
  }

  /** This device's registration, with its addresses (the same one serves gRPC and bulk HTTP). */
  selfInfo(addr: string): DeviceInfo {
    const s = this.settings;
    return create(DeviceInfoSchema, {
      deviceId: s.deviceId,
      deviceName: s.deviceName,
      ...ownPlatform(),
      hasCpu: true,
      hasGpu: s.hasGpu,
      hasNpu: s.hasNpu,
      grpcAddr: addr,
      canScreenCapture: false,
      httpAddr: addr,
      llmPrefillToksPerS: s.llmPrefillToksPerS,
      llmDecodeToksPerS: s.llmDecodeToksPerS,
      ramFreeMb: BigInt(Math.floor(freemem() / (1024 * 1024))),
      hasLocalModel: s.localChatEndpoint !== "",
      localModelName: s.localChatEndpoint !== "" ? s.localModelName : "",
      localChatEndpoint: s.localChatEndpoint,
    });
  }

  /** Takes a load sample of this device now. */
  sample(): LoadSample {
    const s = sampleLoad(this.#clock.now());
    this.#history.add(s);
    return s;
  }

  /** Registers this device at `addr` (the peer to join) and learns the peer's devices. */
  async joinOnce(addr: string): Promise<void> {
    const self = this.registry.self;
    self.info.ramFreeMb = BigInt(Math.floor(freemem() / (1024 * 1024)));
    const peer = this.#peers.client(addr);
    await forwarded(() => peer.registerDevice(self.info));
    const { devices } = await forwarded(() => peer.listDevices({}));
    for (const d of devices) this.registry.upsert(d);
  }

  /** Closes peer connections. */
  async close(): Promise<void> {
    await this.#peers.close();
  }

  #session(id: string): { deviceName: string } {
    const s = this.#sessions.get(id);
    if (!s) {
      if (id === "") throw sessionError("session_id is required", SessionReason.required);
      throw sessionError("unknown session", SessionReason.unknown);
    }
    if (this.#clock.now() >= s.expiresMs) {
      this.#sessions.delete(id);
      throw sessionError("session expired", SessionReason.expired);
    }
    return s;
  }

  /** Forgets expired sessions (nothing else would: a lapsed client never calls again) and counts the rest. */
  #pruneSessions(): number {
    const now = this.#clock.now();
    for (const [id, s] of this.#sessions) if (now >= s.expiresMs) this.#sessions.delete(id);
    return this.#sessions.size;
  }

  #device(id: string): DeviceRecord {
    const d = id === "" ? this.registry.self : this.registry.get(id);
    if (!d) throw new ConnectError(`no device ${JSON.stringify(id)}`, Code.NotFound);
    return d;
  }

  #status(d: DeviceRecord, s: LoadSample | undefined): DeviceStatus {
    return create(DeviceStatusSchema, {
      deviceId: d.info.deviceId,
      lastSeen: secs(d.lastSeenMs),
      cpuLoad: s?.cpuLoad ?? -1,
      memUsedMb: BigInt(s?.memUsedMb ?? 0),
      memTotalMb: BigInt(s?.memTotalMb ?? 0),
      gpuLoad: -1,
      gpuMemUsedMb: 0n,
      gpuMemTotalMb: 0n,
      npuLoad: -1,
      timestampMs: BigInt(s?.timestampMs ?? this.#clock.now()),
    });
  }

  /** Runs a task here. */
  async runTaskHere(kind: string, input: string): Promise<{ ok: boolean; output: string; error: string }> {
    switch (kind.toUpperCase()) {
      case "SYSINFO": {
        const self = this.registry.self.info;
        const cpu = cpus();
        return {
          ok: true,
          error: "",
          output: JSON.stringify({
            device_id: self.deviceId,
            device_name: self.deviceName,
            hostname: hostname(),
            platform: self.platform,
            arch: self.arch,
            os_release: release(),
            cpus: cpu.length,
            cpu_model: cpu[0]?.model ?? "",
            mem_total_mb: Math.round(totalmem() / (1024 * 1024)),
            mem_free_mb: Math.round(freemem() / (1024 * 1024)),
            uptime_s: Math.round(uptime()),
            node: process.version,
          }),
        };
      }
      case "ECHO":
        return { ok: true, output: input, error: "" };
      case "LLM_GENERATE": {
        if (this.settings.localChatEndpoint === "")
          return { ok: false, output: "", error: `device ${this.settings.deviceName} has no local model` };
        try {
          const r = await generate(this.settings.localChatEndpoint, this.settings.localModelName, input, 0);
          return { ok: true, output: r.output, error: "" };
        } catch (err) {
          return { ok: false, output: "", error: err instanceof ConnectError ? err.rawMessage : String(err) };
        }
      }
      default:
        return {
          ok: false,
          output: "",
          error: `unknown task kind ${JSON.stringify(kind)} (known: ${TASK_KINDS.join(", ")})`,
        };
    }
  }

  /** Runs a task on `device`: here when it is this server, else through RunTask on it. */
  async #runTaskOn(
    device: DeviceRecord,
    taskId: string,
    jobId: string,
    kind: string,
    input: string,
  ): Promise<TaskResult> {
    const started = performance.now();
    if (device.self) {
      const r = await this.runTaskHere(kind, input);
      return create(TaskResultSchema, { taskId, ...r, timeMs: performance.now() - started });
    }
    const addr = device.info.grpcAddr;
    return forwarded(() => this.#peers.client(addr).runTask({ taskId, jobId, kind, input }));
  }

  /** The deterministic plan: one SYSINFO task per live device, at most `maxWorkers` of them. */
  #fallbackPlan(maxWorkers: number): { plan: Plan; count: number; of: number } {
    const live = this.registry.live();
    const chosen = maxWorkers > 0 ? live.slice(0, maxWorkers) : live;
    const plan = create(PlanSchema, {
      groups: [
        {
          index: 0,
          tasks: chosen.map((d, i) => ({
            taskId: `sysinfo-${i + 1}`,
            kind: "SYSINFO",
            input: "",
            targetDeviceId: d.info.deviceId,
          })),
        },
      ],
    });
    return { plan, count: chosen.length, of: live.length };
  }

  /** The Connect implementation of `edgemesh.OrchestratorService`. */
  impl(): ServiceImpl<typeof OrchestratorService> {
    return {
      createSession: (req) => {
        if (req.securityKey !== this.settings.securityKey)
          throw new ConnectError("invalid security key", Code.Unauthenticated);
        if (this.#pruneSessions() >= this.settings.maxSessions)
          throw new ConnectError(
            `${this.settings.maxSessions} sessions are open (edgemesh.maxSessions); retry when one expires`,
            Code.ResourceExhausted,
          );
        const id = randomUUID();
        const now = this.#clock.now();
        this.#sessions.set(id, { deviceName: req.deviceName, expiresMs: now + this.settings.sessionTtlMs });
        return { sessionId: id, hostName: hostname(), connectedAt: secs(now) };
      },
      heartbeat: (req) => {
        const s = this.#session(req.sessionId);
        const entry = this.#sessions.get(req.sessionId);
        if (entry) entry.expiresMs = this.#clock.now() + this.settings.sessionTtlMs;
        this.registry.touchByName(s.deviceName);
        return {};
      },
      executeCommand: async (req) => {
        this.#session(req.sessionId);
        return this.#exec(req.command, req.args);
      },
      registerDevice: (req) => {
        if (req.deviceId === "") throw new ConnectError("device_id is required", Code.InvalidArgument);
        const at = this.registry.upsert(req);
        return { ok: true, registeredAt: secs(at) };
      },
      listDevices: () => ({ devices: this.registry.live().map((d) => d.info) }),
      getDeviceStatus: async (req) => this.#deviceStatus(req.deviceId),
      runAITask: (req) => this.#runAiTask(req),
      healthCheck: () => {
        const live = this.registry.live().length;
        const running = [...this.#jobs.values()].filter((j) => j.state === "RUNNING" || j.state === "QUEUED").length;
        return {
          deviceId: this.settings.deviceId,
          serverTime: secs(this.#clock.now()),
          message: `ok: ${live} live device(s), ${this.#pruneSessions()} session(s), ${running} job(s) in progress`,
        };
      },
      executeRoutedCommand: (req) => this.#routed(req),
      submitJob: (req) => this.#submitJob(req),
      getJob: (req) => jobAnswer(this.#job(req.jobId), () => ({})),
      runTask: async (req: TaskRequest) => {
        const started = performance.now();
        const r = await this.runTaskHere(req.kind, req.input);
        return { taskId: req.taskId, ...r, timeMs: performance.now() - started };
      },
      previewPlan: (req) => {
        this.#session(req.sessionId);
        if (req.maxWorkers < 0) throw new ConnectError("max_workers must not be negative", Code.InvalidArgument);
        const { plan, count, of } = this.#fallbackPlan(req.maxWorkers);
        return {
          usedAi: false,
          notes: "no AI planner on this server: deterministic fallback plan",
          rationale: `one SYSINFO task per device: ${count} of ${of} live device(s)${req.maxWorkers > 0 ? ` (max_workers ${req.maxWorkers})` : ""}, results joined with CONCAT`,
          plan,
          reduce: { kind: "CONCAT" },
        };
      },
      previewPlanCost: (req) => {
        this.#session(req.sessionId);
        let devices = this.registry.live();
        if (req.deviceIds.length > 0) {
          devices = req.deviceIds.map((id) => {
            const d = devices.find((x) => x.info.deviceId === id);
            if (!d) throw new ConnectError(`no live device ${JSON.stringify(id)}`, Code.NotFound);
            return d;
          });
        }
        const cost = estimatePlanCost(
          req.plan ?? { groups: [] },
          devices.map((d) => d.info),
        );
        return {
          ...cost,
          deviceCosts: cost.deviceCosts.map((d) => ({ ...d, estimatedPeakRamMb: BigInt(d.estimatedPeakRamMb) })),
        };
      },
      startWebRTC: (req) => {
        this.#session(req.sessionId);
        throw new ConnectError(
          `device ${this.settings.deviceName} cannot capture its screen (can_screen_capture = false): baton-server has no screen capture`,
          Code.FailedPrecondition,
        );
      },
      completeWebRTC: (req) => {
        if (!this.#webrtcStreams.has(req.streamId))
          throw new ConnectError(`no WebRTC stream ${JSON.stringify(req.streamId)}`, Code.NotFound);
        return {};
      },
      stopWebRTC: (req) => {
        if (!this.#webrtcStreams.delete(req.streamId))
          throw new ConnectError(`no WebRTC stream ${JSON.stringify(req.streamId)}`, Code.NotFound);
        return {};
      },
      createDownloadTicket: async (req) => {
        const t = await this.tickets.create(this.settings.fileRoot, req.path);
        return { token: t.token, filename: t.filename, sizeBytes: BigInt(t.size), expiresUnixMs: BigInt(t.expiresMs) };
      },
      readFile: (req) => this.#readFile(req),
      syncChatMemory: (req) => {
        if (req.memoryJson !== "") {
          try {
            JSON.parse(req.memoryJson);
          } catch {
            throw new ConnectError("memory_json is not JSON", Code.InvalidArgument);
          }
        }
        const updated = req.lastUpdatedMs > this.#memory.lastUpdatedMs;
        if (updated) this.#memory = { lastUpdatedMs: req.lastUpdatedMs, json: req.memoryJson };
        return { updated, memoryJson: this.#memory.json };
      },
      getChatMemory: () => ({ memoryJson: this.#memory.json }),
      runLLMTask: (req) => this.#runLlm(req),
      getActivity: (req) => this.#activity(req),
      getDeviceMetrics: (req) => this.#metrics(req.deviceId),
      getJobDetail: (req) => {
        const j = this.#job(req.jobId);
        return {
          ...jobAnswer(j, (t) => ({
            jobId: j.id,
            kind: t.kind,
            input: t.input,
            groupIndex: t.groupIndex,
            startedAtMs: BigInt(t.startedAtMs),
            endedAtMs: BigInt(t.endedAtMs),
          })),
          createdAtMs: BigInt(j.createdAtMs),
          startedAtMs: BigInt(j.startedAtMs),
          endedAtMs: BigInt(j.endedAtMs),
        };
      },
    };
  }

  #exec(command: string, args: readonly string[]) {
    const s = this.settings;
    return runCommand(command, args, {
      allowed: s.allowedCommands,
      timeoutMs: s.commandTimeoutMs,
      outputBytes: s.commandOutputBytes,
      cwd: s.fileRoot,
    });
  }

  #job(id: string): JobRecord {
    const j = this.#jobs.get(id);
    if (!j) throw new ConnectError(`no job ${JSON.stringify(id)}`, Code.NotFound);
    return j;
  }

  async #routed(req: RoutedCommandRequest) {
    this.#session(req.sessionId);
    const started = performance.now();
    const mode = req.policy?.mode ?? RoutingPolicy_Mode.BEST_AVAILABLE;
    const d = selectDevice(this.registry.live(), mode, req.policy?.deviceId ?? "");
    const output = d.self
      ? await this.#exec(req.command, req.args)
      : await this.#peers.withSession(d.info.grpcAddr, (c, sessionId) =>
          forwarded(() => c.executeCommand({ sessionId, command: req.command, args: req.args })),
        );
    return {
      output,
      selectedDeviceId: d.info.deviceId,
      selectedDeviceName: d.info.deviceName,
      selectedDeviceAddr: d.info.grpcAddr,
      totalTimeMs: performance.now() - started,
      executedLocally: d.self,
    };
  }

  async #runAiTask(req: AITaskRequest) {
    this.#session(req.sessionId);
    const kind = req.task.toUpperCase();
    if (!(TASK_KINDS as readonly string[]).includes(kind))
      throw new ConnectError(
        `unknown task ${JSON.stringify(req.task)} (known: ${TASK_KINDS.join(", ")})`,
        Code.InvalidArgument,
      );
    const mode = kind === "LLM_GENERATE" ? RoutingPolicy_Mode.REQUIRE_LOCAL_MODEL : RoutingPolicy_Mode.BEST_AVAILABLE;
    const d = selectDevice(this.registry.live(), mode);
    const r = await this.#runTaskOn(d, randomUUID(), "", kind, req.input);
    if (!r.ok) throw new ConnectError(r.error, Code.FailedPrecondition);
    return {
      selectedDeviceId: d.info.deviceId,
      selectedDeviceAddr: d.info.grpcAddr,
      wouldUseNpu: d.info.hasNpu,
      result: r.output,
    };
  }

  async #submitJob(req: JobRequest) {
    this.#session(req.sessionId);
    if (req.maxWorkers < 0) throw new ConnectError("max_workers must not be negative", Code.InvalidArgument);
    const hasPlan = req.plan?.groups.some((g) => g.tasks.length > 0) ?? false;
    const plan = hasPlan && req.plan ? req.plan : this.#fallbackPlan(req.maxWorkers).plan;
    const job = planJob(this.#clock, req.text, plan, req.reduce?.kind ?? "", this.registry.live(), req.maxWorkers);
    if (!makeRoom(this.#jobs, this.settings.maxJobs, (j) => j.state === "DONE" || j.state === "FAILED"))
      throw new ConnectError(
        `${this.settings.maxJobs} jobs are kept and none has finished (edgemesh.maxJobs)`,
        Code.ResourceExhausted,
      );
    this.#jobs.set(job.id, job);
    setImmediate(() => {
      void runJob(
        this.#clock,
        job,
        (id) => this.registry.get(id),
        async (device, task, jobId) => {
          if (!device) {
            return create(TaskResultSchema, {
              taskId: task.taskId,
              ok: false,
              error:
                task.kind === "LLM_GENERATE"
                  ? "no device in the mesh has a local model"
                  : "no live device to run the task",
            });
          }
          const entry = { task, jobId };
          this.#running.add(entry);
          try {
            return await this.#runTaskOn(device, task.taskId, jobId, task.kind, task.input);
          } finally {
            this.#running.delete(entry);
          }
        },
      );
    });
    const devices = new Set(job.tasks.map((t) => t.deviceId).filter(Boolean)).size;
    return {
      jobId: job.id,
      createdAt: secs(job.createdAtMs),
      summary: `${job.groups.length} group(s), ${job.tasks.length} task(s) on ${devices} device(s)${hasPlan ? "" : " (fallback plan)"}`,
    };
  }

  async #deviceStatus(id: string): Promise<DeviceStatus> {
    const d = this.#device(id);
    if (d.self) return this.#status(d, this.sample());
    let remote: DeviceStatus | undefined;
    if (d.info.grpcAddr !== "") {
      try {
        remote = await forwarded(() =>
          this.#peers.client(d.info.grpcAddr).getDeviceStatus({ deviceId: d.info.deviceId }),
        );
      } catch {
        remote = undefined; // unreachable: report what the registry knows, loads unavailable
      }
    }
    const base = this.#status(d, undefined);
    return remote ? { ...remote, deviceId: d.info.deviceId, lastSeen: base.lastSeen } : base;
  }

  async #metrics(id: string): Promise<MessageInitShape<typeof MetricsHistoryResponseSchema>> {
    const d = this.#device(id);
    if (d.self) {
      if (this.#history.latest() === undefined) this.sample();
      return { deviceId: d.info.deviceId, deviceName: d.info.deviceName, samples: this.#samples(0) };
    }
    let remote: MetricsHistoryResponse | undefined;
    if (d.info.grpcAddr !== "") {
      try {
        remote = await forwarded(() =>
          this.#peers.client(d.info.grpcAddr).getDeviceMetrics({ deviceId: d.info.deviceId }),
        );
      } catch {
        remote = undefined;
      }
    }
    return { deviceId: d.info.deviceId, deviceName: d.info.deviceName, samples: remote?.samples ?? [] };
  }

  #samples(sinceMs: number) {
    return this.#history.since(sinceMs).map((s) => ({
      timestampMs: BigInt(s.timestampMs),
      cpuLoad: s.cpuLoad,
      memUsedMb: BigInt(s.memUsedMb),
      memTotalMb: BigInt(s.memTotalMb),
      gpuLoad: -1,
      gpuMemUsedMb: 0n,
      gpuMemTotalMb: 0n,
      npuLoad: -1,
    }));
  }

  #activity(req: GetActivityRequest) {
    const now = this.#clock.now();
    const running = [...this.#running];
    const live = this.registry.live();
    const latest = this.#history.latest() ?? this.sample();
    return {
      activity: {
        runningTasks: running.map(({ task, jobId }) => ({
          taskId: task.taskId,
          jobId,
          kind: task.kind,
          input: task.input,
          deviceId: task.deviceId,
          deviceName: task.deviceName,
          startedAtMs: BigInt(task.startedAtMs),
          elapsedMs: BigInt(Math.max(0, now - task.startedAtMs)),
        })),
        deviceActivities: live.map((d) => ({
          deviceId: d.info.deviceId,
          deviceName: d.info.deviceName,
          runningTaskCount: running.filter((r) => r.task.deviceId === d.info.deviceId).length,
          currentStatus: this.#status(d, d.self ? latest : undefined),
        })),
      },
      deviceMetrics: req.includeMetricsHistory
        ? {
            [this.settings.deviceId]: {
              deviceId: this.settings.deviceId,
              deviceName: this.settings.deviceName,
              samples: this.#samples(Number(req.metricsSinceMs)),
            },
          }
        : {},
    };
  }

  async #readFile(req: ReadFileRequest) {
    this.#session(req.sessionId);
    const d = this.#device(req.deviceId);
    if (!d.self) {
      return this.#peers.withSession(d.info.grpcAddr, (c, sessionId) =>
        forwarded(() => c.readFile({ ...req, sessionId, deviceId: d.info.deviceId })),
      );
    }
    const r = await readConfined(this.settings.fileRoot, req.path, req.mode, req.maxBytes, req.offset, req.length);
    return {
      content: r.content,
      sizeBytes: BigInt(r.sizeBytes),
      bytesReturned: BigInt(r.content.length),
      truncated: r.truncated,
      error: "",
      contentPreview: r.contentPreview,
    };
  }

  async #runLlm(req: LLMTaskRequest) {
    if (req.prompt === "") throw new ConnectError("prompt is empty", Code.InvalidArgument);
    if (req.maxTokens < 0) throw new ConnectError("max_tokens must not be negative", Code.InvalidArgument);
    if (this.settings.localChatEndpoint === "")
      throw new ConnectError(
        `device ${this.settings.deviceName} has no local model (has_local_model = false): route with PREFER_LOCAL_MODEL or REQUIRE_LOCAL_MODEL`,
        Code.FailedPrecondition,
      );
    const r = await generate(
      this.settings.localChatEndpoint,
      req.model || this.settings.localModelName,
      req.prompt,
      req.maxTokens,
    );
    return { output: r.output, modelUsed: r.modelUsed, tokensGenerated: BigInt(r.tokensGenerated), error: "" };
  }
}

/** The ErrorInfo domain of baton-server's edgemesh errors (the real server sends no details). */
const ERROR_DOMAIN = "edgemesh.baton.dev";

/** ErrorInfo reasons of a refused session, so clients need not read the message. */
const SessionReason = {
  required: "SESSION_REQUIRED",
  unknown: "SESSION_UNKNOWN",
  expired: "SESSION_EXPIRED",
} as const;

/**
 * What GetJob and GetJobDetail both answer of job `j`: its state and groups, and each task
 * with its device, state and outcome, plus the fields `more` gives (GetJobDetail's kind,
 * input and timing).
 */
function jobAnswer<T extends object>(j: JobRecord, more: (t: TaskRecord) => T) {
  return {
    jobId: j.id,
    state: j.state,
    tasks: j.tasks.map((t) => ({
      taskId: t.taskId,
      assignedDeviceId: t.deviceId,
      assignedDeviceName: t.deviceName,
      state: t.state,
      result: t.result,
      error: t.error,
      ...more(t),
    })),
    finalResult: j.finalResult,
    currentGroup: j.currentGroup,
    totalGroups: j.groups.length,
  };
}

/** UNAUTHENTICATED for a missing, unknown or expired session, with an ErrorInfo naming which. */
function sessionError(message: string, reason: string): ConnectError {
  return errorWithInfo(message, Code.Unauthenticated, { domain: ERROR_DOMAIN, reason });
}
