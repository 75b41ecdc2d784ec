import { Code, IdleTimer, ProtocolError, type StreamCallOptions, toBatonError, UnavailableError } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import { type Scope, workspaceOf } from "./call.js";
import { problemToError } from "./errors.js";
import type { PortariumRaw } from "./raw.js";
import { parseServerSentEvents, type ServerSentEvent } from "./sse.js";

type S = components["schemas"];
/** The state of a machine invocation. */
export type MachineInvocation = S["MachineInvocationResponseV1"];
/** One progress event of a machine invocation. */
export type MachineInvocationEvent = S["MachineInvocationProgressEventV1"];
/** The statuses after which a machine invocation changes no more. */
export const TERMINAL_INVOCATION_STATUSES: ReadonlySet<S["MachineInvocationStatus"]> = new Set(["completed", "failed"]);

/**
 * Options of an invocation's event stream. `timeoutMs` does not apply to streams: a quiet
 * stream is bounded by `idleTimeoutMs` (default: the client's).
 */
export interface InvocationStreamOptions extends StreamCallOptions {
  /** The workspace of this stream, overriding the client's. */
  workspaceId?: string;
  /**
   * Consecutive reconnects without receiving an event before a dropped stream is given up.
   * 0: never give up. Default 10.
   */
  maxReconnects?: number;
}

interface Numbered {
  id: number;
  event: MachineInvocationEvent;
}

interface Where {
  workspaceId: string;
  machineId: string;
  invocationId: string;
}

const STREAM = "/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}/stream";

/**
 * An invocation's progress events, through the connection's resumable stream: a dropped
 * connection is reopened after the last event seen (`Last-Event-ID`), without loss or
 * duplicates; the iteration ends after the terminal event. Every connection of one stream
 * carries the same `x-correlation-id`.
 */
export async function* invocationEvents(
  scope: Scope,
  machineId: string,
  invocationId: string,
  options: InvocationStreamOptions,
): AsyncGenerator<MachineInvocationEvent, void, undefined> {
  const where = { workspaceId: workspaceOf(scope, options), machineId, invocationId };
  const idleMs = options.idleTimeoutMs ?? scope.connection.options.idleTimeoutMs;
  const headers = { "x-correlation-id": crypto.randomUUID(), ...options.headers };
  const events = scope.connection.resumable<Numbered, number>({
    open: (after, signal) => connect(scope.raw, where, { after, signal, headers, idleMs }),
    cursorAfter: (item) => item.id,
    keyOf: (item) => String(item.id),
    // Only a dropped connection resumes; an idle timeout, a refusal or a bad event ends the stream.
    isResumable: (err) => err.code === Code.Unavailable && err.retryable,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.maxReconnects !== undefined ? { maxReconnects: options.maxReconnects } : {}),
  });
  try {
    for await (const { event } of events) {
      yield event;
      if (TERMINAL_INVOCATION_STATUSES.has(event.status)) return;
    }
  } catch (err) {
    throw toBatonError(err);
  }
}

/**
 * One connection of the stream, after event `after` (sent as `Last-Event-ID`). Ends after
 * the terminal event; a stream that ends or breaks before it throws a retryable
 * {@link UnavailableError}, so the resumable stream reconnects. With `idleMs`, waiting that
 * long for the headers or the next bytes (events or keep-alive comments) throws
 * `DeadlineExceededError`.
 */
async function* connect(
  raw: PortariumRaw,
  where: Where,
  o: { after: number | undefined; signal: AbortSignal; headers: Record<string, string>; idleMs: number | undefined },
): AsyncGenerator<Numbered, void, undefined> {
  const idle = o.idleMs ? new IdleTimer(o.idleMs) : undefined;
  const signal = idle ? AbortSignal.any([o.signal, idle.signal]) : o.signal;
  const open = () =>
    raw.GET(STREAM, {
      params: { path: where },
      parseAs: "stream",
      signal,
      headers: {
        ...o.headers,
        accept: "text/event-stream",
        ...(o.after !== undefined ? { "last-event-id": String(o.after) } : {}),
      },
    });
  const r = idle ? await idle.during(open) : await open();
  if (!r.response.ok) throw problemToError(r.response.status, r.error, r.response.headers);
  const body = r.data as unknown as AsyncIterable<Uint8Array> | null | undefined;
  if (!body) throw new UnavailableError("the invocation stream ended before the invocation finished");
  const messages = parseServerSentEvents(idle ? idle.watch(body) : body)[Symbol.asyncIterator]();
  try {
    yield* readInvocationEvents(messages, signal, o.after ?? 0);
  } finally {
    // Releases the body when the consumer stops early (the resumable stream aborts the request too).
    await messages.return?.(undefined);
  }
}

/**
 * The events of one connection, until the terminal one.
 *
 * @throws {UnavailableError} when the stream ends or breaks first.
 * @throws {ProtocolError} when an event is not a progress event in JSON.
 */
async function* readInvocationEvents(
  messages: AsyncIterator<ServerSentEvent>,
  signal: AbortSignal,
  after: number,
): AsyncGenerator<Numbered, void, undefined> {
  let position = after;
  // Bounded by the stream: each pass consumes one event, and the stream ends or breaks.
  for (;;) {
    let next: IteratorResult<ServerSentEvent>;
    try {
      next = await messages.next();
    } catch (err) {
      if (signal.aborted || err instanceof ProtocolError) throw err;
      throw new UnavailableError(`the invocation stream broke: ${(err as Error).message}`, { cause: err });
    }
    if (next.done) break;
    const event = parseEvent(next.value.data);
    const id = next.value.id !== undefined && /^\d+$/.test(next.value.id) ? Number(next.value.id) : position + 1;
    position = id;
    yield { id, event };
    if (TERMINAL_INVOCATION_STATUSES.has(event.status)) return;
  }
  throw new UnavailableError("the invocation stream ended before the invocation finished");
}

function parseEvent(data: string): MachineInvocationEvent {
  let event: unknown;
  try {
    event = JSON.parse(data);
  } catch (err) {
    throw new ProtocolError("the invocation stream sent an event that is not JSON", { cause: err });
  }
  if (typeof event !== "object" || event === null || typeof (event as { status?: unknown }).status !== "string") {
    throw new ProtocolError("the invocation stream sent an event without a status");
  }
  return event as MachineInvocationEvent;
}
