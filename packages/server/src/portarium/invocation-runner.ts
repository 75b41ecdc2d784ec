import type { components } from "@baton/wire/portarium";
import type { Clock } from "../clock.js";
import type { InvocationStatus, InvocationStep } from "./invocation-plan.js";
import type { InvocationRecord, PortariumStore } from "./store.js";

type S = components["schemas"];
/** One progress event of a machine invocation. */
export type InvocationEvent = S["MachineInvocationProgressEventV1"];

/** The statuses after which an invocation changes no more. */
export const TERMINAL_INVOCATION: ReadonlySet<InvocationStatus> = new Set(["completed", "failed"]);

/** Where a stream subscriber receives an invocation's events. */
export interface InvocationSink {
  /** One event; `id` is its 1-based position in the invocation's history (the SSE event id). */
  event(id: number, event: InvocationEvent): void;
  /** The invocation reached a terminal status (after its last event), or the runner closed. */
  end(): void;
}

/** Options of an {@link InvocationRunner}. */
export interface InvocationRunnerOptions {
  /** From acceptance to completion, in ms. */
  durationMs: number;
  /** Where the runner reads the time and sets its timers. */
  clock: Clock;
  /** Called after every event the machine reports (the machine's heartbeat). */
  onEvent?: (workspaceId: string, record: InvocationRecord, event: InvocationEvent) => void;
  /** Called once an invocation reaches a terminal status (the service records evidence). */
  onFinished?: (workspaceId: string, record: InvocationRecord) => void;
}

interface Active {
  workspaceId: string;
  machineId: string;
  invocationId: string;
  cancelTimer: (() => void) | undefined;
}

const slot = (workspaceId: string, invocationId: string) => `${workspaceId}\u0000${invocationId}`;

/**
 * Runs machine invocations over time: each one follows its plan (see `invocationPlan`)
 * across `durationMs`, its history and current state kept in the store, and every event is
 * pushed to the streams subscribed to it. One timer per running invocation (none per
 * subscriber), on the injected clock (never keeping the process alive), and all of them
 * cleared by {@link close}.
 */
export class InvocationRunner {
  readonly #store: PortariumStore;
  readonly #durationMs: number;
  readonly #onEvent: InvocationRunnerOptions["onEvent"];
  readonly #onFinished: InvocationRunnerOptions["onFinished"];
  readonly #clock: Clock;
  readonly #active = new Map<string, Active>();
  readonly #subscribers = new Map<string, Set<InvocationSink>>();
  #closed = false;

  /** @throws {RangeError} when `durationMs` is negative or not a number. */
  constructor(store: PortariumStore, options: InvocationRunnerOptions) {
    if (!(options.durationMs >= 0) || !Number.isFinite(options.durationMs)) {
      throw new RangeError(`durationMs must be a non-negative number, got ${options.durationMs}`);
    }
    this.#store = store;
    this.#durationMs = options.durationMs;
    this.#onEvent = options.onEvent;
    this.#onFinished = options.onFinished;
    this.#clock = options.clock;
  }

  /** How many invocations are still running (each holds one timer). */
  get running(): number {
    return this.#active.size;
  }

  /** How many stream subscriptions are open. */
  get subscriptions(): number {
    let n = 0;
    for (const set of this.#subscribers.values()) n += set.size;
    return n;
  }

  /** How many invocations of a machine are still running. */
  runningOn(workspaceId: string, machineId: string): number {
    let n = 0;
    for (const a of this.#active.values()) if (a.workspaceId === workspaceId && a.machineId === machineId) n++;
    return n;
  }

  /**
   * Stores a new invocation in the state of its plan's first step and runs the rest of the
   * plan over the duration.
   *
   * @throws {Error} when the runner is closed, the plan is empty, or the invocation id exists
   *   in the workspace.
   */
  start(
    workspaceId: string,
    machineId: string,
    request: S["MachineInvocationRequestV1"],
    statusUrl: string,
    plan: readonly InvocationStep[],
  ): InvocationRecord {
    if (this.#closed) throw new Error("the invocation runner is closed");
    const first = plan[0];
    if (!first) throw new Error("an invocation plan needs at least one step");
    const record: InvocationRecord = {
      machineId,
      request,
      response: { schemaVersion: 1, invocationId: request.invocationId, status: first.status, statusUrl },
      events: [toEvent(request.invocationId, first)],
    };
    this.#store.invocations.insert(workspaceId, request.invocationId, record);
    this.#onEvent?.(workspaceId, record, record.events[0] as InvocationEvent);
    if (TERMINAL_INVOCATION.has(first.status)) {
      this.#onFinished?.(workspaceId, record);
      return record;
    }
    const active: Active = { workspaceId, machineId, invocationId: request.invocationId, cancelTimer: undefined };
    this.#active.set(slot(workspaceId, request.invocationId), active);
    this.#schedule(active, plan, 1, this.#clock.now());
    return record;
  }

  /**
   * Fails every running invocation of a machine (it was deregistered or went away): each gets
   * a `failed` event with `diagnostics` and `error` set to `reason`. Returns how many failed.
   */
  failMachine(workspaceId: string, machineId: string, reason: string): number {
    let failed = 0;
    for (const [key, active] of [...this.#active]) {
      if (active.workspaceId !== workspaceId || active.machineId !== machineId) continue;
      active.cancelTimer?.();
      this.#active.delete(key);
      this.#append(workspaceId, active.invocationId, {
        schemaVersion: 1,
        invocationId: active.invocationId,
        status: "failed",
        diagnostics: reason,
      });
      failed++;
    }
    return failed;
  }

  /**
   * Subscribes to an invocation's events after the first `afterId`: the history the
   * subscriber missed is delivered at once, then live events as they happen; `sink.end` is
   * called after the terminal event (at once when the invocation already finished).
   * Returns the unsubscribe function (idempotent); call it when the client goes away.
   *
   * @throws {Error} when the invocation does not exist.
   */
  subscribe(workspaceId: string, invocationId: string, afterId: number, sink: InvocationSink): () => void {
    const record = this.#store.invocations.get(workspaceId, invocationId);
    if (!record) throw new Error(`no invocation ${invocationId}`);
    for (const [i, event] of record.events.entries()) if (i >= afterId) sink.event(i + 1, event);
    if (TERMINAL_INVOCATION.has(record.response.status) || this.#closed) {
      sink.end();
      return () => {};
    }
    const key = slot(workspaceId, invocationId);
    const set = this.#subscribers.get(key) ?? new Set();
    this.#subscribers.set(key, set);
    set.add(sink);
    return () => {
      set.delete(sink);
      if (set.size === 0 && this.#subscribers.get(key) === set) this.#subscribers.delete(key);
    };
  }

  /** Stops every timer and ends every open subscription; running invocations stay as they are. */
  close(): void {
    this.#closed = true;
    for (const active of this.#active.values()) active.cancelTimer?.();
    this.#active.clear();
    const sets = [...this.#subscribers.values()];
    this.#subscribers.clear();
    for (const set of sets) for (const sink of set) sink.end();
  }

  #schedule(active: Active, plan: readonly InvocationStep[], next: number, startedAt: number): void {
    const step = plan[next];
    if (!step) return;
    // Each step is due at its share of the duration from the start, however late the last fired.
    const delay = startedAt + step.at * this.#durationMs - this.#clock.now();
    active.cancelTimer = this.#clock.setTimer(() => {
      active.cancelTimer = undefined;
      const key = slot(active.workspaceId, active.invocationId);
      if (this.#active.get(key) !== active) return;
      if (TERMINAL_INVOCATION.has(step.status)) this.#active.delete(key);
      this.#append(active.workspaceId, active.invocationId, toEvent(active.invocationId, step));
      this.#schedule(active, plan, next + 1, startedAt);
    }, delay);
  }

  #append(workspaceId: string, invocationId: string, event: InvocationEvent): void {
    const record = this.#store.invocations.get(workspaceId, invocationId);
    if (!record) return;
    const terminal = TERMINAL_INVOCATION.has(event.status);
    const response: S["MachineInvocationResponseV1"] = { ...record.response, status: event.status };
    // The reference machine produces no artifact it could serve, so it claims no
    // outputArtifactUris rather than URIs that would answer 404.
    if (event.status === "failed" && event.diagnostics) response.error = event.diagnostics;
    const next: InvocationRecord = { ...record, response, events: [...record.events, event] };
    this.#store.invocations.update(workspaceId, invocationId, next);
    const key = slot(workspaceId, invocationId);
    const set = this.#subscribers.get(key);
    if (set) {
      for (const sink of [...set]) sink.event(next.events.length, event);
      if (terminal) {
        this.#subscribers.delete(key);
        for (const sink of set) sink.end();
      }
    }
    this.#onEvent?.(workspaceId, next, event);
    if (terminal) this.#onFinished?.(workspaceId, next);
  }
}

function toEvent(invocationId: string, step: InvocationStep): InvocationEvent {
  return {
    schemaVersion: 1,
    invocationId,
    status: step.status,
    progressRatio: step.progressRatio,
    step: step.step,
    ...(step.diagnostics ? { diagnostics: step.diagnostics } : {}),
  };
}
