import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaaahtClient, type BaaahtClientOptions } from "@baton/baaaht";
import type { Clock } from "@baton/server";
import { type BatonServerLike, startServer } from "./server-shim.js";

/** Client options of the harness (the address is the harness's). */
export type ClientExtras = Omit<BaaahtClientOptions, "address" | "connection">;

/** A running server on a Unix socket and TCP, with clients for both. */
export interface Harness {
  server: BatonServerLike;
  dir: string;
  socketPath: string;
  unix: BaaahtClient;
  tcp: BaaahtClient;
  client(address: "unix" | "tcp", options?: ClientExtras): BaaahtClient;
  close(): Promise<void>;
}

/**
 * Starts baton-server (the baaaht module, with fast timers, on `clock` when given) and
 * clients over both transports.
 */
export async function startHarness(
  settings: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "baaaht-test-"));
  const socketPath = join(dir, "b.sock");
  const server = await startServer({
    listen: [`unix://${socketPath}`, "127.0.0.1:0"],
    settings: { "baaaht.streamHeartbeatMs": "25", ...settings },
    clock: options.clock,
  });
  const clients: BaaahtClient[] = [];
  const client = (address: "unix" | "tcp", options: ClientExtras = {}) => {
    const c = new BaaahtClient({
      address: address === "unix" ? `unix://${socketPath}` : (server.addresses[1] as string),
      heartbeatIntervalMs: 25,
      reconnectIntervalMs: 100,
      ...options,
    });
    clients.push(c);
    return c;
  };
  const unix = client("unix");
  const tcp = client("tcp");
  return {
    server,
    dir,
    socketPath,
    unix,
    tcp,
    client,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects up to `n` items of an async iterable, failing after `timeoutMs`. */
export async function take<T>(it: AsyncIterable<T>, n: number, timeoutMs = 5000): Promise<T[]> {
  const out: T[] = [];
  if (n <= 0) return out;
  const iterator = it[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${out.length} of ${n} items`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const r = await Promise.race([iterator.next(), timeout]);
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
  return out;
}

/** Every item of a finite async iterable, in order. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of it) out.push(item);
  return out;
}

/** The items of `it` that `keep` accepts (iterating it afresh each time). */
export function only<T>(it: AsyncIterable<T>, keep: (item: T) => boolean): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      for await (const item of it) if (keep(item)) yield item;
    },
  };
}

/** Waits until `check` returns true, polling every 10 ms, failing after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Expects a promise to reject with an error of the given class. */
export async function rejectsWith(p: Promise<unknown>, cls: abstract new (...args: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof cls) return err;
    throw new Error(`expected ${cls.name}, got ${String(err)}`);
  }
  throw new Error(`expected ${cls.name}, but it resolved`);
}

/**
 * Runs `open` (which starts a subscription) and resolves once the server follows `log` for
 * it, so that what the test does next is seen live rather than raced. Waits first for
 * earlier subscriptions to `log` to have ended on the server. `open` returns nothing so that
 * a promise it starts is not awaited here.
 */
export async function followed(log: { readonly followers: number }, open: () => void): Promise<void> {
  await until(() => log.followers === 0);
  open();
  await until(() => log.followers === 1);
}
