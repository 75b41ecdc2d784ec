/**
 * The client shape (DESIGN.md, "The client shape"), held against every client package:
 * one suite, one table of clients. A new orchestrator's client joins by adding a row.
 */
import * as baaaht from "@baton/baaaht";
import * as core from "@baton/core";
import * as coreErrors from "@baton/core/errors";
import * as edgemesh from "@baton/edgemesh";
import * as orca from "@baton/orca";
import * as portarium from "@baton/portarium";
import * as stratavore from "@baton/stratavore";
import { afterEach, describe, expect, it } from "vitest";

interface Subject {
  /** The package, as users import it. */
  pkg: Record<string, unknown>;
  /** Its client class's export name. */
  className: string;
  /** The environment variable that overrides the default address, a value for it, and what it dials then. */
  env: { name: string; value: string; expect: Partial<core.ParsedAddress> };
  /** What `new XClient()` dials with the variable unset. */
  defaultAddress: Partial<core.ParsedAddress>;
  /** Resources that must have `getHandle(id)` and `list()`, at least. */
  handles: string[];
  lists: string[];
  /** Options beyond the connection's that construction needs to make calls. */
  extra?: Record<string, unknown>;
}

const subjects: Record<string, Subject> = {
  "@baton/orca": {
    pkg: orca,
    className: "OrcaClient",
    env: { name: "ORCA_ADDR", value: "127.0.0.1:40001", expect: { host: "127.0.0.1", port: 40001 } },
    defaultAddress: { host: "127.0.0.1", port: 50051, socketPath: undefined },
    handles: ["runs"],
    lists: [],
  },
  "@baton/baaaht": {
    pkg: baaaht,
    className: "BaaahtClient",
    env: { name: "GRPC_SOCKET_PATH", value: "/tmp/shape-test.sock", expect: { socketPath: "/tmp/shape-test.sock" } },
    defaultAddress: { socketPath: "/tmp/baaaht-grpc.sock" },
    handles: ["sessions"],
    lists: ["sessions", "containers"],
  },
  "@baton/edgemesh": {
    pkg: edgemesh,
    className: "EdgemeshClient",
    env: { name: "GRPC_ADDR", value: "127.0.0.1:40006", expect: { host: "127.0.0.1", port: 40006 } },
    defaultAddress: { host: "127.0.0.1", port: 50051, socketPath: undefined },
    handles: ["devices", "jobs"],
    lists: ["devices"],
  },
  "@baton/portarium": {
    pkg: portarium,
    className: "PortariumClient",
    env: {
      name: "PORTARIUM_URL",
      value: "http://127.0.0.1:40002",
      expect: { host: "127.0.0.1", port: 40002, secure: false },
    },
    defaultAddress: { host: "127.0.0.1", port: 8080, secure: false },
    handles: ["runs"],
    lists: ["runs", "workspaces", "approvals", "machines", "agents", "workflows", "evidence"],
    extra: { workspaceId: "ws-shape", token: "t" },
  },
  "@baton/stratavore": {
    pkg: stratavore,
    className: "StratavoreClient",
    env: { name: "STRATAVORE_ADDR", value: "127.0.0.1:40004", expect: { host: "127.0.0.1", port: 40004 } },
    defaultAddress: { host: "localhost", port: 50051, socketPath: undefined },
    handles: ["runners"],
    lists: ["runners", "projects", "sessions"],
  },
};

/** Nothing listens here: calls fail fast with UNAVAILABLE, and nothing else answers. */
const DEAD = "unix:///tmp/baton-shape-test-nobody-listens.sock";

type AnyClient = core.BatonClient & Record<string, unknown>;
type Ctor = new (options?: Record<string, unknown>) => AnyClient;

const made: AnyClient[] = [];
afterEach(async () => {
  for (const c of made.splice(0)) await c.close();
});

function make(s: Subject, options: Record<string, unknown> = {}): AnyClient {
  const C = s.pkg[s.className] as Ctor;
  const c = new C({ ...s.extra, ...options });
  made.push(c);
  return c;
}

function dead(s: Subject): AnyClient {
  return make(s, { address: DEAD, retry: false, dialTimeoutMs: 2000 });
}

/** The client's resources: its own properties that are objects with methods of their own class. */
function resources(client: AnyClient): Array<[string, Record<string, unknown>]> {
  return Object.entries(client).filter(
    (entry): entry is [string, Record<string, unknown>] =>
      entry[0] !== "raw" &&
      entry[0] !== "connection" &&
      typeof entry[1] === "object" &&
      entry[1] !== null &&
      Object.getPrototypeOf(entry[1]) !== Object.prototype,
  );
}

function methodsOf(obj: object): string[] {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, n);
      if (n !== "constructor" && typeof d?.value === "function") names.add(n);
    }
  }
  return [...names];
}

function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

for (const [name, s] of Object.entries(subjects)) {
  describe(`${name}: the client shape`, () => {
    it(`is a class, new ${s.className}(options?), built on core's BatonClient`, () => {
      const C = s.pkg[s.className];
      expect(typeof C).toBe("function");
      const client = make(s);
      expect(client).toBeInstanceOf(core.BatonClient);
      expect(client.connection).toBeInstanceOf(core.Connection);
      expect(typeof client.raw).toBe("object");
      expect(client.raw).not.toBeNull();
    });

    it(`dials $${s.env.name}, else its documented default`, () => {
      const fromEnv = withEnv(s.env.name, s.env.value, () => make(s));
      expect(fromEnv.connection.address).toMatchObject(s.env.expect);
      const byDefault = withEnv(s.env.name, undefined, () => make(s));
      expect(byDefault.connection.address).toMatchObject(s.defaultAddress);
      const explicit = withEnv(s.env.name, s.env.value, () => make(s, { address: "127.0.0.1:40003" }));
      expect(explicit.connection.address).toMatchObject({ host: "127.0.0.1", port: 40003 });
    });

    it("takes core's ConnectionOptions", () => {
      const logger = { debug() {}, info() {}, warn() {}, error() {} };
      const options = {
        address: "127.0.0.1:40004",
        token: async () => "tok",
        timeoutMs: 1234,
        idleTimeoutMs: 5678,
        retry: { maxAttempts: 2 },
        headers: { "x-shape": "1" },
        logger,
        dialTimeoutMs: 900,
      };
      const client = make(s, options);
      expect(client.connection.options).toMatchObject({ timeoutMs: 1234, idleTimeoutMs: 5678, dialTimeoutMs: 900 });
      expect(client.connection.retryPolicy.maxAttempts).toBe(2);
      expect(client.connection.logger).toBe(logger);
      const tls = make(s, { address: "https://127.0.0.1:40005", tls: { serverName: "example.test" } });
      expect(tls.connection.address.secure).toBe(true);
      expect(() => make(s, { address: "ftp://nowhere" })).toThrow(core.InvalidArgumentError);
    });

    it("shares a connection it is given and does not close it; closes its own", async () => {
      const connection = new core.Connection({ address: DEAD });
      const shared = make(s, { connection });
      expect(shared.connection).toBe(connection);
      await shared.close();
      expect(connection.closed).toBe(false);
      await connection.close();

      const own = make(s, { address: DEAD });
      const closing = own.close();
      expect(closing).toBeInstanceOf(Promise);
      await closing;
      expect(own.connection.closed).toBe(true);
      expect(typeof own[Symbol.asyncDispose]).toBe("function");
      await own[Symbol.asyncDispose]();
    });

    it("re-exports the whole error hierarchy, the same classes as core", () => {
      const names = Object.keys(coreErrors).filter((n) => n.endsWith("Error"));
      expect(names.length).toBeGreaterThan(15);
      for (const n of names) expect(s.pkg[n], n).toBe((coreErrors as Record<string, unknown>)[n]);
    });

    it("gives handles with getHandle(id) and .id, without a network call", () => {
      const client = dead(s);
      const withHandles = resources(client).filter(([, r]) => typeof r.getHandle === "function");
      expect(withHandles.map(([n]) => n)).toEqual(expect.arrayContaining(s.handles));
      for (const [n, r] of withHandles) {
        const h = (r.getHandle as (id: string) => { id: unknown })(`${n}-id-1`);
        expect(h.id, n).toBe(`${n}-id-1`);
      }
    });

    it("answers every list() with a PagedList that rejects, never throws, when the server is gone", async () => {
      const client = dead(s);
      const listed = resources(client).filter(([, r]) => typeof r.list === "function");
      expect(listed.map(([n]) => n)).toEqual(expect.arrayContaining(s.lists));
      for (const [n, r] of listed) {
        const list = (r.list as () => unknown)();
        expect(list, n).toBeInstanceOf(core.PagedList);
        await expect(list as core.PagedList<unknown>, n).rejects.toBeInstanceOf(core.UnavailableError);
      }
    });

    it("never throws synchronously: every method answers a promise, an iterable or a handle", async () => {
      const client = dead(s);
      let called = 0;
      for (const [rn, r] of resources(client)) {
        for (const m of methodsOf(r)) {
          let result: unknown;
          // Missing arguments are bad input: they must come back as a rejection too.
          expect(() => {
            result = (r[m] as (...a: unknown[]) => unknown).call(r);
          }, `${rn}.${m}()`).not.toThrow();
          called++;
          if (result instanceof Promise || result instanceof core.PagedList) {
            await (result as Promise<unknown>).then(
              () => undefined,
              () => undefined,
            );
          }
        }
      }
      expect(called).toBeGreaterThan(0);
    });
  });
}
