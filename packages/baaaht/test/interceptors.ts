import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** What {@link dropStreamOnce} gives a test. */
export interface StreamDropper {
  interceptor: Interceptor;
  /** How often it dropped a stream (at most once). */
  drops(): number;
  /** Non-heartbeat messages that reached the client through it, over every call. */
  received(): number;
}

/**
 * A client interceptor that fails the first call of stream method `method` with
 * UNAVAILABLE, as a dropped connection does, once `after` non-heartbeat messages got
 * through: when the next one arrives (it is lost), or with `eager` as soon as the client
 * asks for more. What the stream does next is the client's resume.
 */
export function dropStreamOnce(method: string, after: number, options: { eager?: boolean } = {}): StreamDropper {
  let dropped = 0;
  let received = 0;
  const drop = () => {
    dropped++;
    return new ConnectError("connection dropped (test)", Code.Unavailable);
  };
  const interceptor: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (!res.stream || req.method.name !== method) return res;
    const first = dropped === 0;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        const it = messages[Symbol.asyncIterator]();
        let seen = 0;
        try {
          for (;;) {
            if (first && options.eager && seen === after) throw drop();
            const r = await it.next();
            if (r.done) return;
            if ((r.value as { payload?: { case?: string } }).payload?.case !== "heartbeat") {
              if (first && seen === after) throw drop();
              seen++;
              received++;
            }
            yield r.value;
          }
        } finally {
          await it.return?.();
        }
      })(),
    } as typeof res;
  };
  return { interceptor, drops: () => dropped, received: () => received };
}

/** A client interceptor counting the calls made through it, by method name. */
export function countCalls(): { interceptor: Interceptor; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    interceptor: (next) => (req) => {
      calls.push(req.method.name);
      return next(req);
    },
  };
}

/**
 * A client interceptor counting the heartbeat frames the server sent on streams, so a test
 * can wait for time to pass on a stream by waiting for heartbeats instead of sleeping.
 */
export function countHeartbeats(): { interceptor: Interceptor; received: () => number } {
  let received = 0;
  const interceptor: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        for await (const m of messages) {
          if ((m as { payload?: { case?: string } }).payload?.case === "heartbeat") received++;
          yield m;
        }
      })(),
    } as typeof res;
  };
  return { interceptor, received: () => received };
}
