import type { RunnerEvent } from "@baton/wire/stratavore";

/** Event ids are `evt-<sequence>`: ordered, so a stream resumes after the last one it saw. */
export function eventId(seq: number): string {
  return `evt-${seq}`;
}

/** The sequence number of an event id, or undefined when it is not one of ours. */
export function eventSeq(id: string): number | undefined {
  const m = /^evt-(\d{1,15})$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/**
 * Every runner event, in order, the latest `retention` of them kept for replay, and the
 * live subscribers. `publish` is synchronous, so a subscriber that registers before it
 * reads the replay never misses an event between the two.
 */
export class EventLog {
  readonly #events: RunnerEvent[] = [];
  readonly #subscribers = new Set<(e: RunnerEvent) => void>();
  readonly #retention: number;
  #seq = 0;

  constructor(retention: number) {
    this.#retention = retention;
  }

  /** The sequence number the next event gets. */
  nextSeq(): number {
    return this.#seq + 1;
  }

  /** Appends an event (its id must come from {@link nextSeq}) and hands it to every subscriber. */
  publish(event: RunnerEvent): void {
    this.#seq = eventSeq(event.eventId) ?? this.#seq + 1;
    this.#events.push(event);
    if (this.#events.length > this.#retention) this.#events.splice(0, this.#events.length - this.#retention);
    for (const s of this.#subscribers) s(event);
  }

  /** The oldest retained sequence number (the next one when nothing is retained). */
  oldestSeq(): number {
    const first = this.#events[0];
    return first ? (eventSeq(first.eventId) ?? 1) : this.#seq + 1;
  }

  /** Retained events with a sequence number above `seq`. */
  after(seq: number): RunnerEvent[] {
    return this.#events.filter((e) => (eventSeq(e.eventId) ?? 0) > seq);
  }

  /** How many live subscribers there are. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Calls `fn` with every event from now on, until the returned function is called. */
  subscribe(fn: (e: RunnerEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}
