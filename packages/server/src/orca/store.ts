import type { Envelope } from "@baton/wire/orca";
import { makeRoom } from "../retention.js";
import { DEFAULT_ORCA_SETTINGS } from "./settings.js";

/** A run's limits and spending; 0 in a limit means unlimited. */
export interface RunBudget {
  /** Maximum tokens. */
  maxTokens: bigint;
  /** Maximum cost in micros. */
  maxCostMicros: bigint;
  /** Tokens charged so far. */
  usedTokens: bigint;
  /** Cost charged so far. */
  usedCostMicros: bigint;
  /** Limits a warning was already emitted for. */
  warned: string[];
}

/** A stored run. */
export interface RunRecord {
  /** The run id (the workflow id). */
  runId: string;
  /** Canonical form of the StartRun request, to tell a retry from a conflict. */
  startKey: string;
  /** Budget and usage. */
  budget: RunBudget;
  /** Creation time, Unix ms. */
  createdAtMs: number;
}

/** The ids a run's retained event log spans. */
export interface EventWindow {
  /** The id of the oldest retained event (equal to `next` when none is retained). */
  oldest: bigint;
  /** The id the next appended event gets. */
  next: bigint;
}

/** How much of each run a {@link MemoryOrcaStore} keeps (see {@link OrcaSettings}). */
export interface OrcaRetention {
  /** Events kept per run. */
  maxEventsPerRun: number;
  /** Bytes of event `payload_json` kept per run (the newest event is always kept). */
  maxEventBytesPerRun: number;
  /** Runs kept; past it the oldest settled runs are evicted. */
  maxRuns: number;
}

/**
 * Where ORCA state lives. The reference server keeps it in memory; a durable store
 * implements the same interface. Callers serialise writes per run.
 */
export interface OrcaStore {
  /** The run, or undefined. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /**
   * Inserts a new run. When the store is full it first evicts the oldest settled runs
   * (runs with no task waiting for a result). Returns the evicted run ids, or undefined
   * when no run could be evicted: then nothing was inserted.
   */
  createRun(run: RunRecord): Promise<string[] | undefined>;
  /** Replaces an existing run's record. */
  putRun(run: RunRecord): Promise<void>;
  /** Whether an envelope id was already accepted in the run. */
  hasEnvelope(runId: string, id: string): Promise<boolean>;
  /** How many distinct envelopes the run accepted. */
  envelopeCount(runId: string): Promise<number>;
  /**
   * Records an accepted envelope (task or result); `awaitsResult` marks a task the run
   * is not settled without (until {@link putResult} for it).
   */
  putEnvelope(runId: string, envelope: Envelope, awaitsResult: boolean): Promise<void>;
  /**
   * Appends an event; the store assigns its id (the per-run sequence number, from 1) and
   * drops the oldest events past its retention bound.
   */
  appendEvent(runId: string, event: Envelope): Promise<Envelope>;
  /**
   * Retained events with id >= `fromId`, in order, at most `limit`. An event object is never
   * changed once appended: the service shares one response (and its encoding) among every
   * stream that reads it. A run that does not exist has none.
   */
  readEvents(runId: string, fromId: bigint, limit: number): Promise<Envelope[]>;
  /** The ids the run's retained events span, or undefined when the run does not exist. */
  eventWindow(runId: string): Promise<EventWindow | undefined>;
  /**
   * Records the latest result (agent_result / agent_error) for a parent task; `final`
   * marks one no later result may replace (the orchestrator's deadline_exceeded).
   */
  putResult(runId: string, parentId: string, result: Envelope, final?: boolean): Promise<void>;
  /** The latest result for a parent task. */
  getResult(runId: string, parentId: string): Promise<Envelope | undefined>;
  /** Whether the task's result is final (see {@link putResult}). */
  isResultFinal(runId: string, parentId: string): Promise<boolean>;
}

/**
 * A copy of a run that shares nothing mutable with it, so callers never change the stored
 * record without `putRun`. Field by field: a run is small and flat, and `structuredClone`
 * of it on every task cost more than the task.
 */
function copyRun(r: RunRecord): RunRecord {
  return { ...r, budget: { ...r.budget, warned: [...r.budget.warned] } };
}

interface RunState {
  run: RunRecord;
  envelopes: Set<string>;
  pending: Set<string>;
  events: Envelope[];
  /** Id of `events[0]`. */
  firstEventId: number;
  eventBytes: number;
  results: Map<string, { result: Envelope; final: boolean }>;
}

const payloadBytes = (e: Envelope) => Buffer.byteLength(e.payloadJson);

/** The in-memory {@link OrcaStore}, bounded by an {@link OrcaRetention}. */
export class MemoryOrcaStore implements OrcaStore {
  readonly #runs = new Map<string, RunState>();
  readonly #retention: OrcaRetention;

  /** @param retention bounds; each defaults to {@link DEFAULT_ORCA_SETTINGS}. */
  constructor(retention: Partial<OrcaRetention> = {}) {
    this.#retention = {
      maxEventsPerRun: retention.maxEventsPerRun ?? DEFAULT_ORCA_SETTINGS.maxEventsPerRun,
      maxEventBytesPerRun: retention.maxEventBytesPerRun ?? DEFAULT_ORCA_SETTINGS.maxEventBytesPerRun,
      maxRuns: retention.maxRuns ?? DEFAULT_ORCA_SETTINGS.maxRuns,
    };
  }

  /** How many runs are kept. */
  get runCount(): number {
    return this.#runs.size;
  }

  #state(runId: string): RunState {
    const s = this.#runs.get(runId);
    if (!s) throw new Error(`run ${runId} does not exist`);
    return s;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const r = this.#runs.get(runId)?.run;
    return r && copyRun(r);
  }

  async createRun(run: RunRecord): Promise<string[] | undefined> {
    if (this.#runs.has(run.runId)) throw new Error(`run ${run.runId} already exists`);
    const evicted: string[] = [];
    const room = makeRoom(
      this.#runs,
      this.#retention.maxRuns,
      (s) => s.pending.size === 0,
      (id) => evicted.push(id),
    );
    if (!room) return undefined;
    this.#runs.set(run.runId, {
      run: copyRun(run),
      envelopes: new Set(),
      pending: new Set(),
      events: [],
      firstEventId: 1,
      eventBytes: 0,
      results: new Map(),
    });
    return evicted;
  }

  async putRun(run: RunRecord): Promise<void> {
    this.#state(run.runId).run = copyRun(run);
  }

  async hasEnvelope(runId: string, id: string): Promise<boolean> {
    return this.#state(runId).envelopes.has(id);
  }

  async envelopeCount(runId: string): Promise<number> {
    return this.#state(runId).envelopes.size;
  }

  async putEnvelope(runId: string, envelope: Envelope, awaitsResult: boolean): Promise<void> {
    const s = this.#state(runId);
    s.envelopes.add(envelope.id);
    if (awaitsResult && !s.results.has(envelope.id)) s.pending.add(envelope.id);
  }

  async appendEvent(runId: string, event: Envelope): Promise<Envelope> {
    const s = this.#state(runId);
    const stored = { ...event, id: String(s.firstEventId + s.events.length) };
    s.events.push(stored);
    s.eventBytes += payloadBytes(stored);
    const { maxEventsPerRun, maxEventBytesPerRun } = this.#retention;
    while (s.events.length > maxEventsPerRun || (s.eventBytes > maxEventBytesPerRun && s.events.length > 1)) {
      const dropped = s.events.shift() as Envelope;
      s.eventBytes -= payloadBytes(dropped);
      s.firstEventId++;
    }
    return stored;
  }

  async readEvents(runId: string, fromId: bigint, limit: number): Promise<Envelope[]> {
    const s = this.#runs.get(runId);
    if (!s) return [];
    const start = Math.max(0, Number(fromId) - s.firstEventId);
    return s.events.slice(start, start + limit);
  }

  async eventWindow(runId: string): Promise<EventWindow | undefined> {
    const s = this.#runs.get(runId);
    if (!s) return undefined;
    return { oldest: BigInt(s.firstEventId), next: BigInt(s.firstEventId + s.events.length) };
  }

  async putResult(runId: string, parentId: string, result: Envelope, final = false): Promise<void> {
    const s = this.#state(runId);
    s.results.set(parentId, { result, final });
    s.pending.delete(parentId);
  }

  async getResult(runId: string, parentId: string): Promise<Envelope | undefined> {
    return this.#state(runId).results.get(parentId)?.result;
  }

  async isResultFinal(runId: string, parentId: string): Promise<boolean> {
    return this.#state(runId).results.get(parentId)?.final ?? false;
  }
}
