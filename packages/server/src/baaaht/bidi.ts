import { ConnectError } from "@connectrpc/connect";
import { BoundedQueue } from "../bounded-queue.js";
import { timerDelay } from "../clock.js";

/** What a bidi handler gets once the first request arrived. */
export interface BidiContext<Res> {
  /** Responses to send; bounded, so followers wait for a slow client. */
  readonly out: BoundedQueue<Res>;
  /** Aborted when the call ends (client cancel, server finish or failure). */
  readonly signal: AbortSignal;
  /** Runs background work for the call; its failure fails the call. */
  spawn(work: Promise<void>): void;
  /** Ends the call normally once the queued responses are sent. */
  finish(): void;
  /**
   * Ends the call if the client has half-closed and the handlers' `drained` says nothing
   * is owed to it any more. Call it whenever `drained` may have become true.
   */
  settle(): void;
}

/** The handler's reaction to the call's requests. */
export interface BidiHandlers<Req> {
  /** Each request after the first (the first is given to `setup`). */
  onRequest(req: Req): Promise<void> | void;
  /** The client half-closed its side. */
  onHalfClose?(): void;
  /**
   * Whether everything the client is owed was sent. When given, the call ends once the
   * client half-closed and this holds (checked at the half-close and on `settle`); when
   * not, a half-close alone does not end the call.
   */
  drained?(): boolean;
}

/** How {@link serveBidi} serves a call. */
export interface BidiOptions<Req, Res> {
  /** How often a heartbeat frame is sent, in ms (at least 10). */
  heartbeatMs: number;
  /** Makes a heartbeat frame. */
  heartbeat: () => Res;
  /** Sees the first request and returns the handlers of the rest. */
  setup(first: Req, ctx: BidiContext<Res>): Promise<BidiHandlers<Req>> | BidiHandlers<Req>;
  /**
   * Counts the call as open, from before its first request until it ended however it
   * ended; returns the function that counts it closed (a debug count of open streams).
   */
  track?(): () => void;
}

/**
 * Serves a bidirectional stream: reads the requests concurrently with writing responses,
 * sends heartbeat frames every `heartbeatMs`, and tears everything down when either side
 * ends. `setup` sees the first request (most calls carry the session or task id there).
 */
export async function* serveBidi<Req, Res>(
  requests: AsyncIterable<Req>,
  callSignal: AbortSignal,
  options: BidiOptions<Req, Res>,
): AsyncGenerator<Res> {
  const untrack = options.track?.();
  try {
    yield* serve(requests, callSignal, options);
  } finally {
    untrack?.();
  }
}

async function* serve<Req, Res>(
  requests: AsyncIterable<Req>,
  callSignal: AbortSignal,
  options: BidiOptions<Req, Res>,
): AsyncGenerator<Res> {
  const it = requests[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const ac = new AbortController();
  const onCallAbort = () => ac.abort();
  callSignal.addEventListener("abort", onCallAbort, { once: true });
  const out = new BoundedQueue<Res>(1024);
  const fail = (err: unknown) => {
    if (!ac.signal.aborted) out.close(err instanceof ConnectError ? err : ConnectError.from(err));
  };
  let handlers: BidiHandlers<Req> | undefined;
  let halfClosed = false;
  const ctx: BidiContext<Res> = {
    out,
    signal: ac.signal,
    spawn: (work) => {
      work.catch(fail);
    },
    finish: () => out.close(),
    settle: () => {
      if (halfClosed && handlers?.drained?.()) out.close();
    },
  };
  const timer = setInterval(() => out.tryPush(options.heartbeat()), timerDelay(Math.max(10, options.heartbeatMs)));
  timer.unref();
  try {
    const h = await options.setup(first.value, ctx);
    handlers = h;
    ctx.spawn(
      (async () => {
        for (;;) {
          const next = await it.next();
          if (next.done || ac.signal.aborted) break;
          await h.onRequest(next.value);
        }
        if (ac.signal.aborted) return;
        halfClosed = true;
        h.onHalfClose?.();
        ctx.settle();
      })(),
    );
    for await (const res of out) yield res;
  } finally {
    clearInterval(timer);
    callSignal.removeEventListener("abort", onCallAbort);
    ac.abort();
    out.close();
  }
}
