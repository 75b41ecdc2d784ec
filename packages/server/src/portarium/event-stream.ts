import { timerDelay } from "../clock.js";
import type { AnyRequest, AnyResponse } from "../module.js";
import { problems } from "./http.js";
import type { EventStreamReply } from "./operation.js";

/** Options of {@link serveEventStream}. */
export interface EventStreamOptions {
  /** The request id, echoed in `x-request-id`. */
  requestId: string;
  /** How often a quiet stream gets a `: keep-alive` comment, in ms. */
  keepAliveMs: number;
  /**
   * The server's shutdown signal: when it aborts, the response ends (before the terminal
   * event), so the client reconnects with `Last-Event-ID` to the server that comes next.
   */
  shutdownSignal?: AbortSignal | undefined;
}

type StreamingResponse = AnyResponse & {
  writeHead(status: number, headers: Record<string, string>): void;
  write(chunk: string): boolean;
  flushHeaders(): void;
};

/**
 * Serves an event stream reply as server-sent events: each event is `id: <n>`,
 * `event: progress` and its JSON `data`; a `Last-Event-ID` header resumes after that event;
 * the response ends when the subscription does, and a client that goes away (or a dropped
 * connection) ends the subscription. A quiet stream gets a comment every `keepAliveMs` so
 * proxies keep it open; clients skip comments. When the server's shutdown drain period is
 * over, the response ends, and clients reconnect.
 *
 * @throws {HttpProblem} 400 for a `Last-Event-ID` that is not an event id, and whatever the
 *   reply's `subscribe` throws (a 404 for an unknown invocation), both before anything is
 *   written.
 */
export function serveEventStream(
  req: AnyRequest,
  res: AnyResponse,
  reply: EventStreamReply,
  options: EventStreamOptions,
): void {
  const given = req.headers["last-event-id"];
  const lastEventId = (Array.isArray(given) ? given[0] : given)?.trim();
  if (lastEventId !== undefined && !/^\d{1,9}$/.test(lastEventId)) {
    throw problems.invalid("invalid Last-Event-ID", {
      "header.Last-Event-ID": ["must be the id of an event this stream sent"],
    });
  }
  const out = res as StreamingResponse;
  let started = false;
  let ended = false;
  let keepAlive: NodeJS.Timeout | undefined;
  const begin = () => {
    started = true;
    out.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-request-id": options.requestId,
    });
    // A subscriber with nothing to catch up on still learns at once that it is subscribed.
    out.flushHeaders();
    if (ended) return;
    keepAlive = setInterval(() => out.write(": keep-alive\n\n"), timerDelay(options.keepAliveMs));
    keepAlive.unref();
  };
  // The history is delivered synchronously inside subscribe; a 404 is thrown before it.
  const unsubscribe = reply.subscribe(Number(lastEventId ?? 0), {
    event(id, e) {
      if (ended) return;
      if (!started) begin();
      out.write(`id: ${id}\nevent: progress\ndata: ${JSON.stringify(e)}\n\n`);
    },
    end() {
      if (ended) return;
      ended = true;
      clearInterval(keepAlive);
      if (!started) begin();
      res.end();
    },
  });
  if (!started) begin();
  if (ended) return;
  const shutdown = options.shutdownSignal;
  const onShutdown = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    unsubscribe();
    res.end();
  };
  if (shutdown?.aborted) {
    onShutdown();
    return;
  }
  shutdown?.addEventListener("abort", onShutdown, { once: true });
  // Nothing else holds the subscription: the client leaving is what ends it.
  res.once("close", () => {
    shutdown?.removeEventListener("abort", onShutdown);
    ended = true;
    clearInterval(keepAlive);
    unsubscribe();
  });
}
