import type { DescMethodServerStreaming, DescService } from "@bufbuild/protobuf";
import { type CallOptions, type Client, createClient, type Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";

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
    let it: AsyncIterator<unknown> | undefined;
    let response: StreamResult | undefined;
    const onTrailer = options?.onTrailer;
    // With `onTrailer`, the end of the stream is watched for: one step per message.
    const watch = onTrailer
      ? (r: IteratorResult<unknown>) => {
          if (r.done && response) onTrailer(response.trailer);
          return r;
        }
      : undefined;
    const open = (res: StreamResult) => {
      response = res;
      options?.onHeader?.(res.header);
      it = res.message[Symbol.asyncIterator]();
      return it;
    };
    const iterator: AsyncIterator<unknown> = {
      next() {
        if (it) return watch ? it.next().then(watch) : it.next();
        const first = started.then((res) => (it ?? open(res)).next());
        return watch ? first.then(watch) : first;
      },
      return(value?: unknown) {
        const done = { done: true as const, value };
        // The call is cancelled either way: a transport that fails to say so does not fail the `break`.
        if (it)
          return it.return
            ? it.return().then(
                () => done,
                () => done,
              )
            : Promise.resolve(done);
        // Not started reading: cancel the response once it comes, if it does.
        started
          .then(
            (res) => open(res).return?.(),
            () => {},
          )
          .catch(() => {});
        return Promise.resolve(done);
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  };
}
