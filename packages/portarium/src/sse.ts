import { ProtocolError } from "@baton/core";

/** One server-sent event, as the `text/event-stream` format defines it. */
export interface ServerSentEvent {
  /** The `id:` field, when the event had one. */
  id: string | undefined;
  /** The `event:` field (default `message`). */
  event: string;
  /** The `data:` lines, joined with newlines. */
  data: string;
}

/** Largest event accepted, in characters: a stream that never ends an event is refused, not buffered forever. */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/**
 * Parses a `text/event-stream` body into events (the WHATWG format: `\n`, `\r\n` and `\r`
 * line ends, `:` comments, multi-line `data:`, one optional space after the colon). An
 * event is yielded when the blank line that ends it arrives, so a chunk boundary anywhere
 * (even inside a multi-byte character) is fine; an unfinished event at the end is dropped.
 *
 * @throws {ProtocolError} when one event grows beyond {@link MAX_SSE_EVENT_CHARS}: the stream
 *   cannot be read on, and resuming it would only meet the same event again.
 */
export async function* parseServerSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let event = "";
  let data: string[] = [];
  let size = 0;
  /** Consumes the complete lines of the buffer; `final` when no more input will come. */
  function* lines(final: boolean): Generator<ServerSentEvent> {
    // Bounded: each pass consumes one line of the buffer.
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buffer);
      // A lone \r at the end may be the first half of \r\n: wait for the next chunk, if any.
      if (!m || (!final && m[0] === "\r" && m.index === buffer.length - 1)) break;
      const line = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      if (line === "") {
        if (data.length > 0) yield { id, event: event || "message", data: data.join("\n") };
        id = undefined;
        event = "";
        data = [];
        size = 0;
        continue;
      }
      size += line.length;
      if (size > MAX_SSE_EVENT_CHARS)
        throw new ProtocolError(`a server-sent event exceeds ${MAX_SSE_EVENT_CHARS} chars`);
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id" && !value.includes("\u0000")) id = value;
    }
    if (buffer.length > MAX_SSE_EVENT_CHARS) {
      throw new ProtocolError(`a server-sent event exceeds ${MAX_SSE_EVENT_CHARS} chars`);
    }
  }
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* lines(false);
  }
  buffer += decoder.decode();
  yield* lines(true);
}
