import type { DescMethodServerStreaming, DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient, type Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { type BufferedIterator, takeBuffered, takeFrom } from "./buffered.js";

/**
 * The generated Connect client of `service` on `transport` (connect-es `createClient`), with
 * server-streaming methods that hand out the transport's own message iterator: connect's
 * wraps every stream in a transpiled async generator that costs several promises per
 * message; this one costs none once the response has arrived (and one per message only
 * when `onTrailer` is given). `break` (the iterator's `return`) cancels the call.
 */
export function createRawClient<S extends DescService>(service: S, transport: Transport): Client<S> {
  const client = createClient(service, transport) as Record<string, unknown>;
  for (const method of service.methods) {
    if (method.methodKind === "server_streaming")
      client[method.localName] = serverStreamingFn(transport, method as DescMethodServerStreaming);
  }
  return client as Client<S>;
}

type StreamResult = Awaited<ReturnType<Transport["stream"]>>;

/** A server-streaming method: the call starts at once, its messages come from the transport's iterator. */
function serverStreamingFn(transport: Transport, method: DescMethodServerStreaming) {
  return (input: unknown, options?: CallOptions): AsyncIterable<unknown> => {
    const started = transport.stream(
      method,
      options?.signal,
      options?.timeoutMs,
      options?.headers,
      createAsyncIterable([input as never]),
      options?.contextValues,
    );
    // Read when iterated; a call nobody iterates must not be an unhandled rejection.
    started.catch(() => {});
    const iterator = new RawStream(started, options);
    return { [Symbol.asyncIterator]: () => iterator };
  };
}

/**
 * One call's messages: the transport's iterator once the response is in. A class, not an
 * object of closures per call: its methods are the same functions for every stream, so the
 * engine's optimized code for one stream is still right for the next.
 */
class RawStream implements BufferedIterator<unknown> {
  readonly #started: Promise<StreamResult>;
  readonly #onHeader: ((header: Headers) => void) | undefined;
  readonly #onTrailer: ((trailer: Headers) => void) | undefined;
  #it: AsyncIterator<unknown> | undefined;
  #response: StreamResult | undefined;

  constructor(started: Promise<StreamResult>, options: CallOptions | undefined) {
    this.#started = started;
    this.#onHeader = options?.onHeader;
    this.#onTrailer = options?.onTrailer;
  }

  #open(res: StreamResult): AsyncIterator<unknown> {
    this.#response = res;
    this.#onHeader?.(res.header);
    this.#it = res.message[Symbol.asyncIterator]();
    return this.#it;
  }

  /** With `onTrailer`, the end of the stream is watched for (one step per message). */
  #watch = (r: IteratorResult<unknown>): IteratorResult<unknown> => {
    if (r.done && this.#response) this.#onTrailer?.(this.#response.trailer);
    return r;
  };

  [takeBuffered](): IteratorYieldResult<unknown> | undefined {
    // Only messages: the end (and so the trailer) always comes through next().
    return this.#it === undefined ? undefined : takeFrom(this.#it);
  }

  next(): Promise<IteratorResult<unknown>> {
    const it = this.#it;
    const next = it ? it.next() : this.#started.then((res) => (this.#it ?? this.#open(res)).next());
    return this.#onTrailer ? next.then(this.#watch) : next;
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    const done = { done: true as const, value };
    const it = this.#it;
    // The call is cancelled either way: a transport that fails to say so does not fail the `break`.
    if (it)
      return it.return
        ? it.return().then(
            () => done,
            () => done,
          )
        : Promise.resolve(done);
    // Not started reading: cancel the response once it comes, if it does.
    this.#started
      .then(
        (res) => this.#open(res).return?.(),
        () => {},
      )
      .catch(() => {});
    return Promise.resolve(done);
  }
}
