import type { Envelope } from "@baton/wire/orca";

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

/**
 * Where ORCA state lives. The reference server keeps it in memory; a durable store
 * implements the same interface. Callers serialise writes per run.
 */
export interface OrcaStore {
  /** The run, or undefined. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Inserts or replaces a run. */
  putRun(run: RunRecord): Promise<void>;
  /** Whether an envelope id was already accepted in the run. */
  hasEnvelope(runId: string, id: string): Promise<boolean>;
  /** Records an accepted envelope (task or result). */
  putEnvelope(runId: string, envelope: Envelope): Promise<void>;
  /** Appends an event; the store assigns its id (the per-run sequence number, from 1). */
  appendEvent(runId: string, event: Envelope): Promise<Envelope>;
  /** Events with id >= `fromId`, in order, at most `limit`. */
  readEvents(runId: string, fromId: bigint, limit: number): Promise<Envelope[]>;
  /** Records the latest result (agent_result / agent_error) for a parent task. */
  putResult(runId: string, parentId: string, result: Envelope): Promise<void>;
  /** The latest result for a parent task. */
  getResult(runId: string, parentId: string): Promise<Envelope | undefined>;
}

interface RunState {
  run: RunRecord;
  envelopes: Map<string, Envelope>;
  events: Envelope[];
  results: Map<string, Envelope>;
}

/** The in-memory {@link OrcaStore}. */
export class MemoryOrcaStore implements OrcaStore {
  readonly #runs = new Map<string, RunState>();

  #state(runId: string): RunState {
    const s = this.#runs.get(runId);
    if (!s) throw new Error(`run ${runId} does not exist`);
    return s;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const r = this.#runs.get(runId)?.run;
    return r && structuredClone(r);
  }

  async putRun(run: RunRecord): Promise<void> {
    const s = this.#runs.get(run.runId);
    if (s) s.run = structuredClone(run);
    else this.#runs.set(run.runId, { run: structuredClone(run), envelopes: new Map(), events: [], results: new Map() });
  }

  async hasEnvelope(runId: string, id: string): Promise<boolean> {
    return this.#state(runId).envelopes.has(id);
  }

  async putEnvelope(runId: string, envelope: Envelope): Promise<void> {
    this.#state(runId).envelopes.set(envelope.id, envelope);
  }

  async appendEvent(runId: string, event: Envelope): Promise<Envelope> {
    const s = this.#state(runId);
    const stored = { ...event, id: String(s.events.length + 1) };
    s.events.push(stored);
    return stored;
  }

  async readEvents(runId: string, fromId: bigint, limit: number): Promise<Envelope[]> {
    const events = this.#state(runId).events;
    const start = fromId <= 1n ? 0 : Number(fromId - 1n);
    return events.slice(start, start + limit);
  }

  async putResult(runId: string, parentId: string, result: Envelope): Promise<void> {
    this.#state(runId).results.set(parentId, result);
  }

  async getResult(runId: string, parentId: string): Promise<Envelope | undefined> {
    return this.#state(runId).results.get(parentId);
  }
}
