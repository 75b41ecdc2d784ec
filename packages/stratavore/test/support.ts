import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = "baton-stratavore-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A `baton-server` process (the built bin), with the addresses it printed. */
export interface BinServer {
  child: ChildProcessWithoutNullStreams;
  addresses: string[];
  /** SIGTERM, resolved once it exited. */
  stop(): Promise<void>;
}

/** Starts `packages/server/dist/bin.js` with `args` and waits for its `listening on` lines. */
export function startBin(args: string[]): Promise<BinServer> {
  const bin = join(import.meta.dirname, "../../server/dist/bin.js");
  const child = spawn(process.execPath, [bin, ...args]);
  const wanted = Math.max(1, args.filter((a) => a === "--listen").length);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = setTimeout(() => reject(new Error(`baton-server printed no addresses: ${out}${err}`)), 15_000);
    child.stdout.on("data", (d) => {
      out += d;
      const addresses = [...out.matchAll(/listening on (\S+)/g)].map((m) => m[1] as string);
      if (addresses.length >= wanted) {
        clearTimeout(timer);
        resolve({
          child,
          addresses,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`baton-server exited with ${code}: ${out}${err}`));
    });
  });
}

/**
 * A TCP proxy in front of a server, to drop a client's connection for real: `cut()` destroys
 * every open connection; while `hold()` is on, new connections wait (accepted, unanswered)
 * until `release()`.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #open = new Set<Socket>();
  #held: Socket[] = [];
  #holding = false;
  /** Connections accepted so far. */
  connections = 0;

  private constructor(target: string) {
    const i = target.lastIndexOf(":");
    this.#target = { host: target.slice(0, i), port: Number(target.slice(i + 1)) };
    this.#server = createServer((client) => {
      this.connections++;
      this.#open.add(client);
      client.once("close", () => this.#open.delete(client));
      client.on("error", () => {});
      if (this.#holding) this.#held.push(client);
      else this.#pipe(client);
    });
  }

  /** Listens on a free local port in front of `target` (`host:port`). */
  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((r) => proxy.#server.listen(0, "127.0.0.1", r));
    return proxy;
  }

  /** The address clients dial. */
  get address(): string {
    const a = this.#server.address();
    if (a === null || typeof a === "string") throw new Error("proxy not listening");
    return `127.0.0.1:${a.port}`;
  }

  /** Destroys every open connection, both ways. */
  cut(): void {
    for (const s of this.#open) s.destroy();
  }

  /** New connections wait until {@link release}. */
  hold(): void {
    this.#holding = true;
  }

  /** Connects the waiting connections, and every later one at once. */
  release(): void {
    this.#holding = false;
    const held = this.#held;
    this.#held = [];
    for (const s of held) if (!s.destroyed) this.#pipe(s);
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #pipe(client: Socket): void {
    const upstream = tcpConnect(this.#target);
    this.#open.add(upstream);
    upstream.once("close", () => {
      this.#open.delete(upstream);
      client.destroy();
    });
    client.once("close", () => upstream.destroy());
    upstream.on("error", () => {});
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** Polls `check` until it returns true (a bounded loop), for conditions no event announces. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
