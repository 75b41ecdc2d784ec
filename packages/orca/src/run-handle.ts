import {
  BudgetExceededError,
  type CallOptions,
  type Connection,
  callOrThrow,
  connectCallOptions,
  deadline,
  InvalidArgumentError,
  idempotencyKey,
  NotFoundError,
  required,
  type StreamCallOptions,
  takeFrom,
  toBatonError,
} from "@baton/core";
import { type Envelope, EnvelopeSchema, type Orchestrator, type StreamEventsResponse } from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { type Client, createContextValues } from "@connectrpc/connect";
import type { BudgetView } from "./budget.js";

/** The envelope protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/** Usage to charge against the run's budget. */
export interface UsageInput {
  /** Tokens consumed. */
  tokens?: number;
  /** Cost in micros. */
  costMicros?: number;
}

/** A task to submit. Everything but the payload has a sensible default. */
export interface TaskInput {
  /** The payload; JSON-encoded for you. Use `payloadJson` to send pre-encoded JSON. */
  payload?: unknown;
  /** Pre-encoded JSON payload (wins over `payload`). */
  payloadJson?: string;
  /** Unique id, used to deduplicate retries. Default: a random UUID, reused on every retry. */
  id?: string;
  /** Envelope kind. Default `agent_task`; `agent_result`/`agent_error` report results. */
  kind?: string;
  /** The agent that should handle the task (or that produced a result). */
  agent?: string;
  /** The task this one answers (for results). */
  parentId?: string;
  /** Trace id. Default: the run's trace id if the handle has one, else empty. */
  traceId?: string;
  /**
   * How long the orchestrator may take, in ms from `tsMs`. 0 or unset: no limit.
   * baton-server refuses more than 24 h (86400000) with INVALID_ARGUMENT.
   */
  timeoutMs?: number;
  /** Creation time in Unix ms. Default: now. */
  tsMs?: number;
  /**
   * Envelope protocol version. Default {@link PROTOCOL_VERSION}; set it to talk to an
   * orchestrator that speaks another version (it refuses versions it does not know).
   */
  protocolVersion?: number;
  /** Usage hints charged against the budget. */
  usage?: UsageInput;
}

/** What `submit()` returns. */
export interface SubmittedTask {
  /** The task's envelope id (generated when not given). */
  id: string;
  /** Whether the orchestrator accepted it (a duplicate id is accepted too). */
  accepted: boolean;
}

/** Event kinds the reference server emits; real servers may add others. */
export type RunEventKind =
  | "start_run"
  | "task_enqueued"
  | "usage_update"
  | "budget_warning"
  | "budget_exceeded"
  | "agent_result"
  | "agent_error"
  | "task_timeout"
  | "late_result"
  | (string & {});

/** One event of a run. */
export interface RunEvent {
  /** Per-run sequence number. */
  id: number;
  /** What happened. */
  kind: RunEventKind;
  /** The run. */
  runId: string;
  /** The envelope this event is about (a task id), if any. */
  parentId: string;
  /** Trace id. */
  traceId: string;
  /** Who produced the event. */
  agent: string;
  /** The decoded JSON payload (`undefined` when empty, the raw text when not JSON). */
  payload: unknown;
  /** Event time, Unix ms. */
  tsMs: number;
  /** Usage carried by the event, if any. */
  usage:
    | {
        /** Tokens the envelope reports it used. */
        tokens: number;
        /** Cost the envelope reports, in micros (millionths of the cost unit). */
        costMicros: number;
      }
    | undefined;
  /** The raw envelope. */
  envelope: Envelope;
}

/** Options of {@link RunHandle.events}. */
export interface EventsOptions extends StreamCallOptions {
  /** First event id to deliver (inclusive). Default 1: the whole history. */
  from?: number;
  /** Only events at or after this time (Unix ms or a Date). */
  since?: number | Date;
  /** Stop after this many events. */
  max?: number;
  /**
   * Keep streaming new events live (default true). With `false` the stream ends after the
   * replay on servers that support it (baton-server does, via the `orca-follow` header);
   * others keep following, so pair it with `max` or a signal there.
   */
  follow?: boolean;
  /** Consecutive reconnect attempts after dropped connections. Default 10; 0: unlimited. */
  maxReconnects?: number;
}

/** The result of a task. */
export type RunResult =
  | {
      /** True: the agent finished the task. Narrow on `ok` (or `kind`) before reading `payload`. */
      ok: true;
      /** The result envelope's kind. */
      kind: "agent_result";
      /** The decoded JSON result (`undefined` when empty, the raw text when not JSON). */
      payload: unknown;
      /** The raw `agent_result` envelope (ids, agent, trace id, time, usage). */
      envelope: Envelope;
    }
  | {
      /** False: the agent reported the task failed; the call itself succeeded. */
      ok: false;
      /** The error envelope's kind. */
      kind: "agent_error";
      /** The decoded JSON error the agent sent (`undefined` when empty, the raw text when not JSON). */
      error: unknown;
      /** The raw `agent_error` envelope (ids, agent, trace id, time, usage). */
      envelope: Envelope;
    };

/** Options of {@link RunHandle.result}. */
export interface ResultOptions extends CallOptions {
  /** Wait (watching the run's events) until the result exists instead of throwing NotFound. */
  wait?: boolean;
}

/**
 * A handle on one run: submit tasks, follow its events, fetch results and watch its
 * budget. Making a handle costs nothing; every method is one call.
 *
 * @example
 * ```ts
 * const run = await orca.runs.start({ workflowId: "wf-1", budget: { maxTokens: 1000 } });
 * const { id } = await run.submit({ payload: { prompt: "summarise" }, usage: { tokens: 200 } });
 * const result = await run.result(id, { wait: true, timeoutMs: 30_000 });
 * if (result.ok) console.log(result.payload);
 * else console.error("agent failed:", result.error);
 * console.log("tokens left:", run.budget.remaining.tokens);
 * ```
 */
export class RunHandle {
  /** The run id (ORCA uses the workflow id). */
  readonly id: string;
  /** The run's budget as the client knows it. */
  readonly budgetView: BudgetView;
  readonly #raw: Client<typeof Orchestrator>;
  readonly #connection: Connection;
  readonly #charged = new Set<string>();

  /** @internal Use `orca.runs.start()` or `orca.runs.getHandle()`. */
  constructor(raw: Client<typeof Orchestrator>, connection: Connection, id: string, budget: BudgetView) {
    this.#raw = raw;
    this.#connection = connection;
    this.id = id;
    this.budgetView = budget;
  }

  /** The budget snapshot: limits, what the client saw spent, what remains. */
  get budget() {
    return this.budgetView.snapshot();
  }

  /**
   * Submits a task. Safe to retry: the envelope id is the idempotency key, and a repeat of
   * the same id is accepted without being charged twice.
   *
   * @throws {BudgetExceededError} when the task's usage would exceed the budget; the
   *   budget view then reports the limit as exceeded.
   * @throws {NotFoundError} when the run does not exist.
   * @throws {InvalidArgumentError} on a bad task.
   */
  async submit(task: TaskInput = {}, options: CallOptions = {}): Promise<SubmittedTask> {
    const envelope = buildEnvelope(task);
    const ctx = createContextValues().set(idempotencyKey, envelope.id);
    try {
      const res = await callOrThrow(() =>
        this.#raw.submitTask({ runId: this.id, task: envelope }, connectCallOptions(options, ctx)),
      );
      if (res.accepted && !this.#charged.has(envelope.id)) {
        this.#charged.add(envelope.id);
        this.budgetView.charge({ tokens: task.usage?.tokens ?? 0, costMicros: task.usage?.costMicros ?? 0 });
      }
      return { id: envelope.id, accepted: res.accepted };
    } catch (err) {
      // Only the server's budget refusal marks the budget: other RESOURCE_EXHAUSTED
      // answers (an oversized message, a rate limit) say nothing about it.
      if (err instanceof BudgetExceededError) this.budgetView.markExceeded(err.limit);
      throw err;
    }
  }

  /**
   * The run's events as an `AsyncIterable`: the history from `from`, then live events.
   * A dropped connection, or (when following) a server that ends the stream as it goes away
   * (a restart), resumes after the last event seen, with no loss and no duplicates; `break`
   * or the signal cancels. Each iteration starts afresh, so iterating
   * the same result twice gives the same events. Budget events update {@link RunHandle.budget}.
   *
   * @throws {InvalidArgumentError} (when iterated) on a bad `from` or `max`.
   * @throws {NotFoundError} (when iterated) when the run does not exist.
   */
  events(options: EventsOptions = {}): AsyncIterable<RunEvent> {
    const { from = 1, since, max, follow = true, signal, headers, maxReconnects, idleTimeoutMs } = options;
    const raw = this.#raw;
    const connection = this.#connection;
    const budget = this.budgetView;
    const runId = this.id;
    const sinceMs = since instanceof Date ? since.getTime() : (since ?? 0);
    return {
      [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
        // `delivered`: what this iteration has delivered (read when it resumes).
        const open = (events: EventStream) =>
          // The resumable stream works on wire responses and the iterator below maps them.
          connection.resumable<StreamEventsResponse, number>({
            open: (cursor, sig) =>
              raw.streamEvents(
                {
                  runId,
                  startEventId: BigInt(cursor ?? from),
                  sinceTsMs: BigInt(sinceMs),
                  maxEvents: max ? max - events.delivered : 0,
                },
                connectCallOptions({
                  signal: sig,
                  headers: { ...headers, ...(follow ? {} : { "orca-follow": "false" }) },
                  ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
                }),
              ),
            // Ids are per-run sequence numbers and the cursor is exclusive, so a resumed stream
            // starts after the last event seen; the iterator below still drops any id at or below it.
            cursorAfter: (r) => Number(r.event?.id) + 1,
            // A follow never ends on its own (the client stops at `max`): a clean end is the
            // server going away (a restart), so the stream resumes after the last event.
            endless: follow,
            ...(signal ? { signal } : {}),
            ...(maxReconnects === undefined ? {} : { maxReconnects }),
          });
        return new EventStream(open, runId, budget, from, max);
      },
    };
  }

  /**
   * The result of a task (`parentId`: the task's envelope id). With `wait`, a result that
   * does not exist yet is awaited by following the run's events (bound it with
   * `timeoutMs` or a signal).
   *
   * @throws {NotFoundError} when the run does not exist, or (without `wait`) the result.
   * @throws {ProtocolError} when the server answers without a result.
   */
  async result(parentId: string, options: ResultOptions = {}): Promise<RunResult> {
    const fetch = () =>
      callOrThrow(() => this.#raw.fetchResult({ runId: this.id, parentId }, connectCallOptions(options)));
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch();
    } catch (err) {
      // A missing run is final; a missing result is awaited. The server says which in its
      // ErrorInfo; one that does not gets the wait, and its event stream then fails with
      // NOT_FOUND for a run that does not exist.
      if (!options.wait || !(err instanceof NotFoundError) || err.errorInfo?.reason === "RUN_NOT_FOUND") throw err;
      await this.#waitForResult(parentId, options);
      res = await fetch();
    }
    const envelope = required(res.result, "result");
    const payload = decodePayload(envelope.payloadJson);
    return envelope.kind === "agent_error"
      ? { ok: false, kind: "agent_error", error: payload, envelope }
      : { ok: true, kind: "agent_result", payload, envelope };
  }

  async #waitForResult(parentId: string, options: CallOptions): Promise<void> {
    const { signal, exceeded } = deadline(options.timeoutMs, options.signal);
    try {
      // Leaving the loop (return or throw) cancels the stream.
      for await (const ev of this.events(signal ? { signal } : {})) {
        if (
          ev.parentId === parentId &&
          (ev.kind === "agent_result" || ev.kind === "agent_error" || ev.kind === "task_timeout")
        )
          return;
      }
    } catch (err) {
      // The wait's own deadline, not the caller, stopped it: DeadlineExceededError.
      throw exceeded(err, `no result for ${parentId} within ${options.timeoutMs} ms`) ?? err;
    }
  }
}

/** Builds the wire envelope for a task, filling what the caller should not have to. */
export function buildEnvelope(task: TaskInput, now: () => number = Date.now): Envelope {
  let payloadJson = task.payloadJson;
  if (payloadJson === undefined) {
    if (task.payload === undefined) payloadJson = "{}";
    else {
      try {
        payloadJson = JSON.stringify(task.payload);
      } catch (err) {
        throw new InvalidArgumentError(`task payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      if (payloadJson === undefined) throw new InvalidArgumentError("task payload is not JSON-serialisable");
    }
  }
  const u64 = toUint64;
  return create(EnvelopeSchema, {
    id: task.id ?? crypto.randomUUID(),
    parentId: task.parentId ?? "",
    traceId: task.traceId ?? "",
    agent: task.agent ?? "",
    kind: task.kind ?? "agent_task",
    payloadJson,
    timeoutMs: u64("timeoutMs", task.timeoutMs),
    protocolVersion: task.protocolVersion ?? PROTOCOL_VERSION,
    tsMs: task.tsMs === undefined ? BigInt(now()) : u64("tsMs", task.tsMs),
    ...(task.usage
      ? {
          usage: {
            tokens: u64("usage.tokens", task.usage.tokens),
            costMicros: u64("usage.costMicros", task.usage.costMicros),
          },
        }
      : {}),
  });
}

/**
 * Converts an optional non-negative integer option to a uint64 (`undefined` is 0).
 *
 * @throws {InvalidArgumentError} when it is negative, fractional or unsafe.
 * @internal
 */
export function toUint64(name: string, v: number | undefined): bigint {
  if (v === undefined) return 0n;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return BigInt(v);
}

function toRunEvent(runId: string, envelope: Envelope | undefined): RunEvent {
  const e = envelope ?? create(EnvelopeSchema);
  return {
    id: Number(e.id),
    kind: e.kind,
    runId,
    parentId: e.parentId,
    traceId: e.traceId,
    agent: e.agent,
    payload: decodePayload(e.payloadJson),
    tsMs: Number(e.tsMs),
    usage: e.usage ? { tokens: Number(e.usage.tokens), costMicros: Number(e.usage.costMicros) } : undefined,
    envelope: e,
  };
}

function decodePayload(json: string): unknown {
  if (json === "") return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}

/**
 * One iteration of {@link RunHandle.events}: wire responses mapped to events, overlaps of a
 * resumed stream dropped, `max` enforced. An iterator written out, and a class rather than
 * closures per iteration: it sits on every event, a generator layer costs promises and a
 * resumption per event, and methods shared by every stream keep the engine's optimized code
 * valid from one stream to the next. An event the stream below already holds is taken at
 * once (one promise per event in all).
 */
class EventStream implements AsyncIterator<RunEvent> {
  readonly #open: (events: EventStream) => AsyncIterable<StreamEventsResponse>;
  readonly #runId: string;
  readonly #budget: BudgetView;
  readonly #from: number;
  readonly #max: number | undefined;
  #stream: AsyncIterator<StreamEventsResponse> | undefined;
  #finished = false;
  #delivered = 0;
  #lastId = Number.NEGATIVE_INFINITY;
  readonly #step = (r: IteratorResult<StreamEventsResponse>) => this.#onResponse(r);
  readonly #fail = (err: unknown): never => {
    this.#finished = true;
    throw toBatonError(err);
  };

  constructor(
    open: (events: EventStream) => AsyncIterable<StreamEventsResponse>,
    runId: string,
    budget: BudgetView,
    from: number,
    max: number | undefined,
  ) {
    this.#open = open;
    this.#runId = runId;
    this.#budget = budget;
    this.#from = from;
    this.#max = max;
  }

  /** How many events this iteration has delivered. */
  get delivered(): number {
    return this.#delivered;
  }

  #end(): IteratorResult<RunEvent> {
    this.#finished = true;
    return { done: true, value: undefined };
  }

  /** The event of a response, or undefined for one already delivered (a resumed stream that overlaps). */
  #accept(response: StreamEventsResponse): IteratorYieldResult<RunEvent> | undefined {
    const ev = toRunEvent(this.#runId, required(response.event, "event"));
    if (ev.id <= this.#lastId) return undefined;
    this.#lastId = ev.id;
    this.#budget.applyEvent(ev.kind, ev.payload);
    this.#delivered++;
    return { done: false, value: ev };
  }

  /** The next event `stream` already holds, or undefined. */
  #take(stream: AsyncIterator<StreamEventsResponse>): IteratorYieldResult<RunEvent> | undefined {
    for (let r = takeFrom(stream); r !== undefined; r = takeFrom(stream)) {
      const ev = this.#accept(r.value);
      if (ev !== undefined) return ev;
    }
    return undefined;
  }

  #onResponse(r: IteratorResult<StreamEventsResponse>): IteratorResult<RunEvent> | Promise<IteratorResult<RunEvent>> {
    if (r.done) return this.#end();
    const stream = this.#stream as AsyncIterator<StreamEventsResponse>;
    // Already delivered: read on.
    return this.#accept(r.value) ?? this.#take(stream) ?? stream.next().then(this.#step, this.#fail);
  }

  next(): Promise<IteratorResult<RunEvent>> {
    if (this.#finished) return Promise.resolve({ done: true, value: undefined });
    const max = this.#max;
    let stream = this.#stream;
    if (stream === undefined) {
      const from = this.#from;
      const refusal =
        !Number.isInteger(from) || from < 0
          ? "from must be a non-negative integer"
          : max !== undefined && (!Number.isInteger(max) || max < 0)
            ? "max must be a non-negative integer"
            : undefined;
      if (refusal !== undefined) {
        this.#end();
        return Promise.reject(new InvalidArgumentError(refusal));
      }
      if (max === 0) return Promise.resolve(this.#end());
      stream = this.#open(this)[Symbol.asyncIterator]();
      this.#stream = stream;
    }
    // `max` delivered: the call is cancelled, as a `break` cancels it.
    if (max !== undefined && this.#delivered >= max) {
      this.#end();
      return Promise.resolve(stream.return?.()).then(() => ({ done: true, value: undefined }));
    }
    const ev = this.#take(stream);
    if (ev !== undefined) return Promise.resolve(ev);
    return stream.next().then(this.#step, this.#fail);
  }

  return(): Promise<IteratorResult<RunEvent>> {
    const it = this.#stream;
    const wasRunning = !this.#finished && it !== undefined;
    this.#end();
    return Promise.resolve(wasRunning ? it?.return?.() : undefined).then(() => ({
      done: true,
      value: undefined,
    }));
  }
}
