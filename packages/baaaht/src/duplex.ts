import { type BatonError, CanceledError, toBatonError, unrefTimer } from "@baton/core";
import { PushQueue } from "./push-queue.js";

/** How a response frame of a bidi stream is presented to the user. */
export type Classified<Item> =
  | {
      /** The item to yield to the user. */
      item: Item;
    }
  | "heartbeat"
  | undefined;

/** Options of {@link DuplexStream}. */
export interface DuplexStreamOptions<Req, Res, Item> {
  /** Opens the call with the outgoing requests; must stop when `signal` aborts. */
  open(requests: AsyncIterable<Req>, signal: AbortSignal): AsyncIterable<Res>;
  /** Builds a heartbeat frame; it names the session/task/agent the stream belongs to. */
  heartbeat: () => Req;
  /** The first frame. Default: a heartbeat (which subscribes the stream). */
  first?: Req;
  /** How often heartbeats are sent, in ms; 0 turns them off. */
  heartbeatMs: number;
  /** Turns a response into an item, "heartbeat" (hidden), or undefined (ignored). */
  classify(res: Res): Classified<Item>;
  /** Cancels the stream; iterating it then throws `CanceledError`. */
  signal?: AbortSignal | undefined;
  /** Items buffered before the stream stops reading (backpressure). Default 1024. */
  capacity?: number;
}

/**
 * A bidirectional stream as an object: `send()` frames, `for await` the replies. Heartbeat
 * frames are sent periodically and incoming heartbeats are hidden. `break` out of the
 * loop or {@link DuplexStream.cancel} cancel the call and end the iteration quietly; the
 * signal cancels it too, and the iteration then throws `CanceledError` (as every Baton
 * stream does); {@link DuplexStream.end} half-closes it (the server finishes when it is done).
 */
export class DuplexStream<Req, Res, Item> implements AsyncIterable<Item> {
  /** Resolves once the server answered the first frame (the stream is subscribed). */
  readonly ready: Promise<void>;
  /** Resolves when the stream ended (normally, cancelled or failed); never rejects. */
  readonly done: Promise<void>;
  readonly #outgoing = new PushQueue<Req>({ capacity: 256 });
  readonly #items: PushQueue<Item>;
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #cancelled = false;
  #aborted: CanceledError | undefined;
  #readyResolve!: () => void;
  #readyReject!: (err: unknown) => void;

  constructor(options: DuplexStreamOptions<Req, Res, Item>) {
    this.#items = new PushQueue<Item>({ capacity: options.capacity ?? 1024 });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => {});
    const signal = options.signal;
    let unlisten = () => {};
    if (signal) {
      const abort = () => {
        this.#aborted = new CanceledError("the stream was cancelled", { cause: signal.reason });
        this.cancel();
      };
      if (signal.aborted) abort();
      else {
        signal.addEventListener("abort", abort, { once: true });
        // A long-lived caller signal must not keep every stream it ever started alive.
        unlisten = () => signal.removeEventListener("abort", abort);
      }
    }
    this.#outgoing.tryPush(options.first ?? options.heartbeat());
    if (options.heartbeatMs > 0) {
      this.#timer = setInterval(() => this.#outgoing.tryPush(options.heartbeat()), options.heartbeatMs);
      unrefTimer(this.#timer);
    }
    this.done = this.#pump(options).finally(() => {
      if (this.#timer) clearInterval(this.#timer);
      this.#outgoing.close();
      unlisten();
    });
  }

  async #pump(options: DuplexStreamOptions<Req, Res, Item>): Promise<void> {
    try {
      for await (const res of options.open(this.#outgoing, this.#controller.signal)) {
        const c = options.classify(res);
        this.#readyResolve();
        if (c === undefined || c === "heartbeat") continue;
        if (!(await this.#items.push(c.item))) break;
      }
      this.#readyResolve();
      this.#items.close();
    } catch (err) {
      const be: BatonError = this.#cancelled
        ? new CanceledError("the stream was cancelled", { cause: err })
        : toBatonError(err);
      this.#readyReject(this.#aborted ?? be);
      if (this.#cancelled) this.#items.close(this.#aborted);
      else this.#items.close(be);
    }
  }

  /** Whether the stream was cancelled by this side. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /**
   * Sends a frame (waits while the outgoing buffer is full).
   *
   * @throws {CanceledError} when the stream has ended or was half-closed.
   */
  async send(req: Req): Promise<void> {
    if (!(await this.#outgoing.push(req))) throw new CanceledError("the stream is closed for sending");
  }

  /** Half-closes: no more frames from this side; replies keep coming until the server ends. */
  end(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#outgoing.close();
  }

  /** Cancels the call; iteration ends quietly. Idempotent. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#controller.abort(new CanceledError("the stream was cancelled"));
    this.#outgoing.close();
    this.#items.close(this.#aborted);
  }

  /**
   * Yields the stream's items in order. Breaking out of the loop (or throwing in its body)
   * cancels the call.
   *
   * @throws {CanceledError} when the stream was cancelled or its signal aborted.
   * @throws {BatonError} the error the call ended with.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    let finished = false;
    try {
      for await (const item of this.#items) yield item;
      finished = true;
    } finally {
      // `break` (or an exception in the loop body) cancels the call.
      if (!finished) this.cancel();
    }
  }
}
