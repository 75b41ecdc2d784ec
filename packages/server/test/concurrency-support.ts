// Shared by the concurrency tests (here and at the root): a store whose every operation
// yields to the event loop, outcomes of many calls at once, bounded polling, and raw
// HTTP/2 gRPC calls whose connection the test can destroy or reset.
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { MemoryOrcaStore, type OrcaStore } from "@baton/server";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { grpcFrame, grpcHeaders } from "./hardening-support.js";

/**
 * The time a test of a thousand concurrent calls may take: a few seconds on an idle
 * two-core machine, several times that when other test processes share the cores (their
 * clients dial with a 60 s timeout for the same reason).
 */
export const SCALE_TEST_TIMEOUT_MS = 90_000;

/**
 * The in-memory ORCA store, but every operation first yields to the event loop, as a store
 * over a database or a file would: concurrent calls then really interleave between their
 * reads and writes, so only the service's own serialisation keeps the invariants.
 */
export function yieldingStore(store: OrcaStore = new MemoryOrcaStore()): OrcaStore {
  return new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** One call's outcome: its value, or the error it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Each promise's outcome, in order. */
export function settle<T>(ps: Array<Promise<T>>): Promise<Array<Outcome<T>>> {
  return Promise.all(
    ps.map((p) =>
      p.then(
        (value): Outcome<T> => ({ ok: true, value }),
        (error: unknown): Outcome<T> => ({ ok: false, error }),
      ),
    ),
  );
}

/**
 * Polls `read` until `done` holds for its value, at most `tries` times `everyMs` apart, and
 * returns the last value either way (the caller asserts on it, so a failure shows what was
 * seen). A bound, never a fixed sleep: it returns as soon as the condition holds.
 */
export async function pollUntil<T>(
  read: () => T,
  done: (value: T) => boolean,
  { tries = 4000, everyMs = 10 }: { tries?: number; everyMs?: number } = {},
): Promise<T> {
  let value = read();
  for (let i = 0; i < tries && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    value = read();
  }
  return value;
}

/** A gRPC length-prefixed message frame holding `init` as a `schema` message. */
export function frame<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  return grpcFrame(toBinary(schema, create(schema, init)));
}

/** The TCP socket under each session (http2 hides it behind a proxy that refuses destroy). */
const rawSockets = new WeakMap<ClientHttp2Session, Socket>();
const dialled = new Set<ClientHttp2Session>();

/** The TCP socket of a session {@link dial} made: `destroy()` or `resetAndDestroy()` it to drop the connection. */
export function socketOf(session: ClientHttp2Session): Socket {
  const socket = rawSockets.get(session);
  if (!socket) throw new Error("not a session dial() made");
  return socket;
}

/** An HTTP/2 session to `host:port` over a TCP socket of its own. */
export async function dial(address: string): Promise<ClientHttp2Session> {
  const [host, port] = address.split(":") as [string, string];
  const socket = netConnect(Number(port), host);
  const session = connect(`http://${address}`, { createConnection: () => socket });
  rawSockets.set(session, socket);
  dialled.add(session);
  session.on("error", () => {});
  session.once("close", () => dialled.delete(session));
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/** Destroys every session {@link dial} made that is still open (test cleanup). */
export function closeDialled(): void {
  for (const s of dialled) s.destroy();
  dialled.clear();
}

/**
 * A gRPC call on `session` to `path`, sending `first` if given. It reads (and discards)
 * what the server sends unless `read` is false: then it reads nothing, so the server's
 * writes back up.
 */
export function call(
  session: ClientHttp2Session,
  path: string,
  first?: Buffer,
  { read = true, end = false }: { read?: boolean; end?: boolean } = {},
): ClientHttp2Stream {
  const stream = session.request({ ":method": "POST", te: "trailers", ...grpcHeaders(path) });
  stream.on("error", () => {});
  if (read) stream.resume();
  if (first) stream.write(first);
  if (end) stream.end();
  return stream;
}
