import { BadRequestSchema } from "@baton/wire/google-rpc";
import {
  type Envelope,
  EnvelopeSchema,
  type FetchResultRequest,
  FetchResultResponseSchema,
  Orchestrator,
  type StartRunRequest,
  StartRunResponseSchema,
  type StreamEventsRequest,
  type StreamEventsResponse,
  StreamEventsResponseSchema,
  type SubmitTaskRequest,
  SubmitTaskResponseSchema,
} from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type Clock, systemClock } from "../clock.js";
import { errorWithInfo } from "../error-info.js";
import { shareEncoding } from "../grpc-fast-path.js";
import { KeyedMutex } from "../keyed-mutex.js";
import { Notifier } from "../notifier.js";
import { DEFAULT_ORCA_SETTINGS, MAX_TIMEOUT_MS } from "./settings.js";
import type { OrcaStore, RunBudget, RunRecord } from "./store.js";

/** The envelope protocol version the orchestrator accepts. */
export const PROTOCOL_VERSION = 1;
/** Usage share of a limit at which a `budget_warning` event is emitted. */
export const WARNING_RATIO = 0.8;
/** Request header: `false` ends StreamEvents after the replay instead of following live. */
export const FOLLOW_HEADER = "orca-follow";
/** The `google.rpc.ErrorInfo` domain of this service's errors. */
export const ERROR_DOMAIN = "orca.v1";
/** ErrorInfo reasons: a stable, machine-readable cause next to each message. */
export const Reason = {
  /** RESOURCE_EXHAUSTED: the task's usage would exceed the run's budget (metadata `limit`, `used`, `requested`, `max`). */
  budgetExceeded: "BUDGET_EXCEEDED",
  /** NOT_FOUND: no run with that id. */
  runNotFound: "RUN_NOT_FOUND",
  /** NOT_FOUND: the run exists but the task has no result yet. */
  resultNotFound: "RESULT_NOT_FOUND",
  /**
   * FAILED_PRECONDITION: the task's deadline passed and its deadline_exceeded result is
   * final; the late result was refused and logged as a `late_result` event (metadata
   * `parent_id`).
   */
  deadlinePassed: "DEADLINE_PASSED",
  /** OUT_OF_RANGE: the requested events were dropped by retention (metadata `oldest_event_id`, `requested_event_id`). */
  eventsEvicted: "EVENTS_EVICTED",
  /** RESOURCE_EXHAUSTED: the run accepted `orca.maxTasksPerRun` envelopes (metadata `max`). */
  taskLimit: "TASK_LIMIT_REACHED",
  /** RESOURCE_EXHAUSTED: `orca.maxRuns` runs are kept and none is settled (metadata `max`). */
  runLimit: "RUN_LIMIT_REACHED",
} as const;

/** Options of {@link OrcaService}. */
export interface OrcaServiceOptions {
  /** Where the service reads the time and sets task deadlines. Default: the system clock. */
  clock?: Clock;
  /** Distinct envelopes a run accepts (default {@link DEFAULT_ORCA_SETTINGS}.maxTasksPerRun). */
  maxTasksPerRun?: number;
  /** The run limit the store enforces, named in RUN_LIMIT_REACHED errors. */
  maxRuns?: number;
}

const RESULT_KINDS = new Set(["agent_result", "agent_error"]);
const READ_BATCH = 256;

/**
 * The rules of the ORCA orchestrator: runs keyed by workflow id, budgets charged from
 * usage hints without ever overspending, deduplicated envelopes, task deadlines, and a
 * per-run event log that StreamEvents replays and follows.
 */
export class OrcaService {
  readonly #store: OrcaStore;
  readonly #locks = new KeyedMutex();
  readonly #notifier = new Notifier();
  /** Armed task deadlines by `runId\0taskId`: each cancels its timer. */
  readonly #timers = new Map<string, () => void>();
  readonly #responses = new WeakMap<Envelope, StreamEventsResponse>();
  readonly #clock: Clock;
  readonly #maxTasksPerRun: number;
  readonly #maxRuns: number;
  #closed = false;
  #openStreams = 0;

  constructor(store: OrcaStore, options: OrcaServiceOptions = {}) {
    this.#store = store;
    this.#clock = options.clock ?? systemClock;
    this.#maxTasksPerRun = options.maxTasksPerRun ?? DEFAULT_ORCA_SETTINGS.maxTasksPerRun;
    this.#maxRuns = options.maxRuns ?? DEFAULT_ORCA_SETTINGS.maxRuns;
  }

  /** How many task deadlines are armed (tasks with a timeout and no result yet). */
  get pendingDeadlines(): number {
    return this.#timers.size;
  }

  /**
   * Debug counts of what the service holds for its StreamEvents calls: calls running, and
   * those asleep waiting for a run's next event. Both return to 0 once every call ended,
   * however it ended (completed, cancelled, connection dropped).
   */
  get streams(): {
    /** StreamEvents calls running now. */
    open: number;
    /** Of those, the ones asleep until their run's next event. */
    waiting: number;
  } {
    return { open: this.#openStreams, waiting: this.#notifier.waiting };
  }

  #now(): number {
    return this.#clock.now();
  }

  /** The connect-es implementation of `orca.v1.Orchestrator`. */
  impl(): ServiceImpl<typeof Orchestrator> {
    return {
      startRun: (req) => this.startRun(req),
      submitTask: (req) => this.submitTask(req),
      streamEvents: (req, ctx) => this.streamEvents(req, ctx),
      fetchResult: (req) => this.fetchResult(req),
    };
  }

  /** Stops task timers and wakes every waiting stream so it can end. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    this.#notifier.closeAll();
  }

  /**
   * StartRun: creates the run `workflow_id` with its budget and, when given, accepts the
   * initial task. Idempotent: a repeat with the same budget and initial task answers the
   * same run id and changes nothing.
   *
   * @throws {ConnectError} INVALID_ARGUMENT without `workflow_id` or for a bad initial task;
   *   ALREADY_EXISTS when the run exists with a different budget or initial task;
   *   RESOURCE_EXHAUSTED when the initial task is over budget (nothing is created) or
   *   `orca.maxRuns` runs are kept and none can be evicted.
   */
  async startRun(req: StartRunRequest) {
    if (req.workflowId === "") throw invalid("workflow_id is required");
    const runId = req.workflowId;
    const initialPayload = req.initialTask ? this.#validateEnvelope(req.initialTask, "initial_task") : undefined;
    const startKey = JSON.stringify({
      budget: [String(req.budget?.maxTokens ?? 0n), String(req.budget?.maxCostMicros ?? 0n)],
      task: req.initialTask
        ? [req.initialTask.id, req.initialTask.kind, req.initialTask.agent, req.initialTask.payloadJson]
        : null,
    });
    return this.#locks.run(runId, async () => {
      const existing = await this.#store.getRun(runId);
      if (existing) {
        if (existing.startKey !== startKey) {
          throw new ConnectError(
            `run ${runId} already exists with a different budget or initial task`,
            Code.AlreadyExists,
          );
        }
        return create(StartRunResponseSchema, { runId });
      }
      const run: RunRecord = {
        runId,
        startKey,
        createdAtMs: this.#now(),
        budget: {
          maxTokens: req.budget?.maxTokens ?? 0n,
          maxCostMicros: req.budget?.maxCostMicros ?? 0n,
          usedTokens: 0n,
          usedCostMicros: 0n,
          warned: [],
        },
      };
      // Every rule the initial task must pass is checked before the run exists: a refused
      // StartRun leaves nothing behind, and a repeat is refused the same way.
      if (req.initialTask) {
        const over = this.#refusal(run, req.initialTask);
        if (over) throw budgetExceeded(over);
      }
      const evicted = await this.#store.createRun(run);
      if (!evicted) {
        throw withReason(
          `run limit reached: ${this.#maxRuns} runs are kept and every one has tasks waiting for results ` +
            "(give tasks a timeout_ms, report their results, or raise orca.maxRuns)",
          Code.ResourceExhausted,
          Reason.runLimit,
          { max: String(this.#maxRuns) },
        );
      }
      for (const id of evicted) this.#notifier.forget(id);
      await this.#emit(runId, "start_run", {
        payload: {
          workflow_id: req.workflowId,
          budget: { max_tokens: Number(run.budget.maxTokens), max_cost_micros: Number(run.budget.maxCostMicros) },
        },
      });
      if (req.initialTask) await this.#accept(run, req.initialTask, initialPayload);
      return create(StartRunResponseSchema, { runId });
    });
  }

  /**
   * SubmitTask: accepts an envelope into a run (charging its usage to the budget) and logs
   * it as an event. The envelope id is the idempotency key: a repeat is accepted again and
   * changes nothing.
   *
   * @throws {ConnectError} INVALID_ARGUMENT for a missing run id, task or bad envelope;
   *   NOT_FOUND for an unknown run; FAILED_PRECONDITION for a result arriving after its
   *   task's deadline result; RESOURCE_EXHAUSTED over budget or over `orca.maxTasksPerRun`.
   */
  async submitTask(req: SubmitTaskRequest) {
    if (req.runId === "") throw invalid("run_id is required");
    if (!req.task) throw invalid("task is required");
    const task = req.task;
    const payload = this.#validateEnvelope(task, "task");
    return this.#locks.run(req.runId, async () => {
      const run = await this.#store.getRun(req.runId);
      if (!run) throw runNotFound(req.runId);
      // A duplicate id was accepted before: accept again, change nothing.
      if (await this.#store.hasEnvelope(run.runId, task.id))
        return create(SubmitTaskResponseSchema, { accepted: true });
      if (
        RESULT_KINDS.has(task.kind) &&
        task.parentId !== "" &&
        (await this.#store.isResultFinal(run.runId, task.parentId))
      ) {
        await this.#emit(run.runId, "late_result", {
          parentId: task.parentId,
          traceId: task.traceId,
          agent: task.agent,
          payload: { task_id: task.parentId, result_id: task.id, kind: task.kind },
        });
        throw withReason(
          `task ${task.parentId} passed its deadline: its deadline_exceeded result is final, the late ${task.kind} was refused`,
          Code.FailedPrecondition,
          Reason.deadlinePassed,
          { parent_id: task.parentId },
        );
      }
      if ((await this.#store.envelopeCount(run.runId)) >= this.#maxTasksPerRun) {
        throw withReason(
          `run ${run.runId} accepted ${this.#maxTasksPerRun} envelopes, the most a run takes (orca.maxTasksPerRun); start a new run`,
          Code.ResourceExhausted,
          Reason.taskLimit,
          { max: String(this.#maxTasksPerRun) },
        );
      }
      await this.#accept(run, task, payload);
      return create(SubmitTaskResponseSchema, { accepted: true });
    });
  }

  /**
   * StreamEvents: replays a run's events from `start_event_id` (at or after `since_ts_ms`), then follows new ones until
   * `max_events` were sent, the client cancels, the server closes, or (with the
   * `orca-follow: false` header) the replay ends.
   *
   * @throws {ConnectError} INVALID_ARGUMENT without a run id; NOT_FOUND for an unknown run;
   *   OUT_OF_RANGE when the events asked for (or a follower fallen that far behind) were dropped by retention.
   */
  async *streamEvents(req: StreamEventsRequest, ctx: HandlerContext): AsyncGenerator<StreamEventsResponse> {
    // One generator, counted in its own finally: a wrapper delegating to it would add a
    // resumption per event per stream.
    this.#openStreams++;
    try {
      if (req.runId === "") throw invalid("run_id is required");
      const first = await this.#store.eventWindow(req.runId);
      if (!first) throw runNotFound(req.runId);
      const follow = ctx.requestHeader.get(FOLLOW_HEADER)?.toLowerCase() !== "false";
      // 0 and 1 ask for the whole history: what retention kept of it. A later id that
      // retention dropped is OUT_OF_RANGE, as is a follower that falls that far behind.
      // The id of the next event to send, as a number: ids count a run's events, and a
      // bigint per event per stream is garbage a fan-out pays for on every delivery.
      let next = Number(req.startEventId > 1n ? req.startEventId : first.oldest);
      let sent = 0;
      for (;;) {
        const batch = await this.#store.readEvents(req.runId, BigInt(next), READ_BATCH);
        // One read per wake-up: the window is asked for only when the batch does not start
        // at `next` (the run is gone, or retention dropped what the stream had not read).
        if (batch.length === 0 || Number(batch[0]?.id) !== next) {
          const window = await this.#store.eventWindow(req.runId);
          if (!window) throw runNotFound(req.runId);
          if (BigInt(next) < window.oldest) throw eventsEvicted(req.runId, BigInt(next), window.oldest);
        }
        for (const event of batch) {
          next++;
          if (req.sinceTsMs > 0n && event.tsMs < req.sinceTsMs) continue;
          yield this.#response(event);
          sent++;
          if (req.maxEvents > 0 && sent >= req.maxEvents) return;
        }
        if (batch.length === READ_BATCH) continue;
        if (!follow || this.#closed) return;
        // Wait for the event with id `next`, the client going away, or shutdown.
        const woke = await this.#notifier.wait(req.runId, next, ctx.signal);
        if (!woke) return;
      }
    } finally {
      this.#openStreams--;
    }
  }

  /**
   * FetchResult: the `agent_result` or `agent_error` envelope reported for the task
   * `parent_id` of a run.
   *
   * @throws {ConnectError} INVALID_ARGUMENT without a run id or parent id; NOT_FOUND for an
   *   unknown run, or while the task has no result yet.
   */
  async fetchResult(req: FetchResultRequest) {
    if (req.runId === "") throw invalid("run_id is required");
    if (req.parentId === "") throw invalid("parent_id is required");
    if (!(await this.#store.getRun(req.runId))) throw runNotFound(req.runId);
    const result = await this.#store.getResult(req.runId, req.parentId);
    if (!result) {
      throw withReason(
        `no result yet for task ${req.parentId} in run ${req.runId}`,
        Code.NotFound,
        Reason.resultNotFound,
        {
          run_id: req.runId,
          parent_id: req.parentId,
        },
      );
    }
    return create(FetchResultResponseSchema, { result });
  }

  /**
   * The StreamEvents response of a stored event, made once and shared by every stream that
   * sends it (a fan-out to many streams builds one message per event, not one per stream).
   */
  #response(event: Envelope): StreamEventsResponse {
    let res = this.#responses.get(event);
    if (!res) {
      // Stored events are never changed: every stream writes the same encoded bytes.
      res = shareEncoding(create(StreamEventsResponseSchema, { event }));
      this.#responses.set(event, res);
    }
    return res;
  }

  /** Checks an envelope; returns its payload parsed (null when empty), so it is parsed once. */
  #validateEnvelope(env: Envelope, field: string): unknown {
    if (env.id === "") throw invalid(`${field}.id is required`);
    if (env.protocolVersion !== PROTOCOL_VERSION) {
      throw new ConnectError(
        `${field}.protocol_version ${env.protocolVersion} is not supported (want ${PROTOCOL_VERSION})`,
        Code.FailedPrecondition,
      );
    }
    let payload: unknown = null;
    if (env.payloadJson !== "") {
      try {
        payload = JSON.parse(env.payloadJson);
      } catch (err) {
        throw invalid(`${field}.payload_json is not valid JSON: ${(err as Error).message}`);
      }
    }
    if (env.timeoutMs > BigInt(MAX_TIMEOUT_MS)) {
      throw invalid(`${field}.timeout_ms ${env.timeoutMs} is over the maximum of ${MAX_TIMEOUT_MS} ms (24 h)`);
    }
    if (env.timeoutMs > 0n) {
      const now = BigInt(this.#now());
      const deadline = (env.tsMs > 0n ? env.tsMs : now) + env.timeoutMs;
      if (now > deadline) {
        throw new ConnectError(`${field} ${env.id} expired: ts_ms + timeout_ms is in the past`, Code.DeadlineExceeded);
      }
      if (deadline - now > BigInt(MAX_TIMEOUT_MS)) {
        throw invalid(`${field}.ts_ms ${env.tsMs} puts the deadline more than ${MAX_TIMEOUT_MS} ms (24 h) ahead`);
      }
    }
    return payload;
  }

  /**
   * The budget limit the envelope would break, or undefined when it fits.
   *
   * @throws {ConnectError} INVALID_ARGUMENT for a result without parent_id.
   */
  #refusal(run: RunRecord, env: Envelope) {
    if (RESULT_KINDS.has(env.kind) && env.parentId === "") throw invalid(`an ${env.kind} needs parent_id`);
    return exceeded(run.budget, env.usage?.tokens ?? 0n, env.usage?.costMicros ?? 0n);
  }

  /** Charges and records an envelope; the caller holds the run's lock. */
  async #accept(run: RunRecord, env: Envelope, payload: unknown): Promise<void> {
    const tokens = env.usage?.tokens ?? 0n;
    const cost = env.usage?.costMicros ?? 0n;
    const isResult = RESULT_KINDS.has(env.kind);
    const b = run.budget;
    const over = this.#refusal(run, env);
    if (over) {
      await this.#emit(run.runId, "budget_exceeded", {
        parentId: env.id,
        traceId: env.traceId,
        payload: {
          limit: over.limit,
          requested: Number(over.requested),
          used: Number(over.used),
          max: Number(over.max),
          task_id: env.id,
        },
      });
      throw budgetExceeded(over);
    }
    const now = BigInt(this.#now());
    const stored = create(EnvelopeSchema, { ...env, tsMs: env.tsMs > 0n ? env.tsMs : now });
    await this.#store.putEnvelope(run.runId, stored, !isResult);
    if (isResult) {
      await this.#store.putResult(run.runId, env.parentId, stored);
      this.#disarm(run.runId, env.parentId);
      await this.#emit(run.runId, env.kind, {
        parentId: env.parentId,
        traceId: env.traceId,
        agent: env.agent,
        payloadJson: env.payloadJson,
        usage: env.usage,
      });
    } else {
      await this.#emit(run.runId, "task_enqueued", {
        parentId: env.id,
        traceId: env.traceId,
        agent: env.agent,
        payload: {
          task_id: env.id,
          kind: env.kind,
          payload,
        },
      });
      if (env.timeoutMs > 0n) this.#armTimeout(run.runId, stored);
    }
    if (tokens > 0n || cost > 0n) {
      b.usedTokens += tokens;
      b.usedCostMicros += cost;
      await this.#store.putRun(run);
      await this.#emit(run.runId, "usage_update", {
        parentId: env.id,
        payload: {
          task_id: env.id,
          tokens: Number(tokens),
          cost_micros: Number(cost),
          tokens_used: Number(b.usedTokens),
          cost_micros_used: Number(b.usedCostMicros),
          max_tokens: Number(b.maxTokens),
          max_cost_micros: Number(b.maxCostMicros),
        },
      });
      for (const [limit, used, max] of [
        ["max_tokens", b.usedTokens, b.maxTokens],
        ["max_cost_micros", b.usedCostMicros, b.maxCostMicros],
      ] as const) {
        if (max > 0n && Number(used) >= Number(max) * WARNING_RATIO && !b.warned.includes(limit)) {
          b.warned.push(limit);
          await this.#store.putRun(run);
          await this.#emit(run.runId, "budget_warning", { payload: { limit, used: Number(used), max: Number(max) } });
        }
      }
    }
  }

  /** A task with no result by its deadline gets a final `agent_error` result and a `task_timeout` event. */
  #armTimeout(runId: string, task: Envelope): void {
    const key = `${runId}\0${task.id}`;
    this.#timers.get(key)?.();
    const cancel = this.#clock.setTimer(
      () => {
        this.#timers.delete(key);
        void this.#locks.run(runId, async () => {
          if (this.#closed || !(await this.#store.eventWindow(runId)) || (await this.#store.getResult(runId, task.id)))
            return;
          const payload = {
            error: "deadline_exceeded",
            message: `task ${task.id} had no result within ${task.timeoutMs} ms`,
          };
          const result = create(EnvelopeSchema, {
            id: `timeout-${task.id}`,
            parentId: task.id,
            traceId: task.traceId,
            agent: "orchestrator",
            kind: "agent_error",
            payloadJson: JSON.stringify(payload),
            protocolVersion: PROTOCOL_VERSION,
            tsMs: BigInt(this.#now()),
          });
          await this.#store.putResult(runId, task.id, result, true);
          await this.#emit(runId, "task_timeout", { parentId: task.id, traceId: task.traceId, payload });
        });
      },
      Number(task.tsMs + task.timeoutMs) - this.#now(),
    );
    this.#timers.set(key, cancel);
  }

  /** Cancels a task's deadline once it has a result. */
  #disarm(runId: string, taskId: string): void {
    const key = `${runId}\0${taskId}`;
    this.#timers.get(key)?.();
    this.#timers.delete(key);
  }

  async #emit(
    runId: string,
    kind: string,
    fields: {
      parentId?: string;
      traceId?: string;
      agent?: string;
      payload?: unknown;
      payloadJson?: string;
      usage?: Envelope["usage"];
    },
  ): Promise<Envelope> {
    const event = create(EnvelopeSchema, {
      parentId: fields.parentId ?? "",
      traceId: fields.traceId ?? "",
      agent: fields.agent ?? "orchestrator",
      kind,
      payloadJson: fields.payloadJson ?? JSON.stringify(fields.payload ?? {}),
      protocolVersion: PROTOCOL_VERSION,
      tsMs: BigInt(this.#now()),
      ...(fields.usage ? { usage: fields.usage } : {}),
    });
    const stored = await this.#store.appendEvent(runId, event);
    this.#notifier.publish(runId, Number(stored.id));
    return stored;
  }
}

function budgetExceeded(over: NonNullable<ReturnType<typeof exceeded>>): ConnectError {
  return withReason(
    `budget exceeded: ${over.limit} (used ${over.used} + requested ${over.requested} > ${over.max})`,
    Code.ResourceExhausted,
    Reason.budgetExceeded,
    { limit: over.limit, used: String(over.used), requested: String(over.requested), max: String(over.max) },
  );
}

function eventsEvicted(runId: string, requested: bigint, oldest: bigint): ConnectError {
  return withReason(
    `events of run ${runId} before ${oldest} were dropped by retention (asked from ${requested}); ` +
      "resume from the oldest retained event, or from 0 for what is kept",
    Code.OutOfRange,
    Reason.eventsEvicted,
    { run_id: runId, oldest_event_id: String(oldest), requested_event_id: String(requested) },
  );
}

function exceeded(b: RunBudget, tokens: bigint, cost: bigint) {
  if (b.maxTokens > 0n && b.usedTokens + tokens > b.maxTokens) {
    return { limit: "max_tokens", used: b.usedTokens, requested: tokens, max: b.maxTokens };
  }
  if (b.maxCostMicros > 0n && b.usedCostMicros + cost > b.maxCostMicros) {
    return { limit: "max_cost_micros", used: b.usedCostMicros, requested: cost, max: b.maxCostMicros };
  }
  return undefined;
}

/** An error with a `google.rpc.ErrorInfo` detail in this service's domain. */
function withReason(message: string, code: Code, reason: string, metadata: Record<string, string>): ConnectError {
  return errorWithInfo(message, code, { domain: ERROR_DOMAIN, reason, metadata });
}

function runNotFound(runId: string): ConnectError {
  return withReason(`run ${runId} not found`, Code.NotFound, Reason.runNotFound, { run_id: runId });
}

/** INVALID_ARGUMENT with a `google.rpc.BadRequest` naming the field (the message's first word). */
function invalid(message: string): ConnectError {
  const field = message.split(" ", 1)[0] ?? "";
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: [{ field, description: message }] } },
  ]);
}

export { Orchestrator };
