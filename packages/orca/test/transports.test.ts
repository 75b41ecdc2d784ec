import { join } from "node:path";
import {
  BatonError,
  CanceledError,
  Code,
  Connection,
  type ConnectionOptions,
  DeadlineExceededError,
  UnauthenticatedError,
  UnavailableError,
} from "@baton/core";
import { OrcaClient } from "@baton/orca";
import { Orchestrator } from "@baton/orca/wire";
import { type BatonServer, MemoryOrcaStore, type ModuleFactory, OrcaService, startServer } from "@baton/server";
import { ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki, type TestPki } from "../../../test/support/tls.js";
import { eventually, take, tempDir } from "./support.js";

/**
 * ORCA with knobs for fault injection: the next N SubmitTask calls lose their response
 * after the server applied them (the client sees UNAVAILABLE), StartRun can be slowed
 * down, and stream handler lifetimes are observable.
 */
const faults = { loseSubmitResponses: 0, failFetch: 0, startDelayMs: 0, openStreams: 0, submitCalls: 0 };
const faultyOrca: ModuleFactory = () => {
  const service = new OrcaService(new MemoryOrcaStore());
  const impl = service.impl();
  return {
    name: "orca",
    routes(router) {
      router.service(Orchestrator, {
        ...impl,
        async startRun(req, ctx) {
          if (faults.startDelayMs) await new Promise((r) => setTimeout(r, faults.startDelayMs));
          return impl.startRun(req, ctx);
        },
        async submitTask(req, ctx) {
          faults.submitCalls++;
          const res = await impl.submitTask(req, ctx);
          if (faults.loseSubmitResponses > 0) {
            faults.loseSubmitResponses--;
            throw new ConnectError("response lost", Code.Unavailable);
          }
          return res;
        },
        async fetchResult(req, ctx) {
          if (faults.failFetch > 0) {
            faults.failFetch--;
            throw new ConnectError("try again", Code.Unavailable);
          }
          return impl.fetchResult(req, ctx);
        },
        async *streamEvents(req, ctx) {
          faults.openStreams++;
          try {
            yield* impl.streamEvents(req, ctx);
          } finally {
            faults.openStreams--;
          }
        },
      });
    },
    close: () => service.close(),
  };
};

const TOKEN = "s3cret-token";
let tmp: ReturnType<typeof tempDir>;
let pki: TestPki;
let plain: BatonServer;
let secure: BatonServer;
let mutual: BatonServer;
let tcp: string;
let unix: string;

beforeAll(async () => {
  tmp = tempDir();
  pki = makePki(tmp.dir);
  plain = await startServer({
    listen: ["127.0.0.1:0", `unix://${join(tmp.dir, "orca.sock")}`],
    token: TOKEN,
    modules: [faultyOrca],
  });
  [tcp, unix] = plain.addresses as [string, string];
  secure = await startServer({
    listen: ["127.0.0.1:0"],
    token: TOKEN,
    tls: { cert: pki.serverCert, key: pki.serverKey },
  });
  mutual = await startServer({
    listen: ["127.0.0.1:0"],
    tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca },
  });
});
afterAll(async () => {
  await Promise.all([plain?.close(), secure?.close(), mutual?.close()]);
  tmp?.cleanup();
});

let n = 0;
async function roundTrip(options: ConnectionOptions) {
  const orca = new OrcaClient(options);
  try {
    const run = await orca.runs.start({ workflowId: `rt-${++n}`, budget: { maxTokens: 100 } });
    await run.submit({ id: "a", payload: { x: 1 }, usage: { tokens: 60 } });
    const kinds: string[] = [];
    for await (const ev of run.events({ follow: false })) kinds.push(ev.kind);
    return kinds;
  } finally {
    orca.close();
  }
}
const expected = ["start_run", "task_enqueued", "usage_update"];

describe("protocols, HTTP versions and sockets", () => {
  const cases: Array<[string, Partial<ConnectionOptions>]> = [
    ["gRPC over HTTP/2", { protocol: "grpc" }],
    ["gRPC over HTTP/2 (connect-node transport)", { protocol: "grpc", grpcTransport: "connect-node" }],
    ["Connect over HTTP/2", { protocol: "connect" }],
    ["Connect over HTTP/1.1", { protocol: "connect", httpVersion: "1.1" }],
    [
      "Connect over HTTP/1.1 (connect-node transport)",
      { protocol: "connect", httpVersion: "1.1", http1Transport: "connect-node" },
    ],
    ["Connect JSON over HTTP/1.1", { protocol: "connect", httpVersion: "1.1", useJson: true }],
    ["gRPC-Web over HTTP/2", { protocol: "grpc-web" }],
    ["gRPC-Web over HTTP/1.1", { protocol: "grpc-web", httpVersion: "1.1" }],
    [
      "gRPC-Web over HTTP/1.1 (connect-node transport)",
      { protocol: "grpc-web", httpVersion: "1.1", http1Transport: "connect-node" },
    ],
  ];
  for (const [name, opts] of cases) {
    it(`${name} on TCP`, async () => {
      expect(await roundTrip({ address: tcp, token: TOKEN, ...opts })).toEqual(expected);
    });
    it(`${name} on a Unix socket`, async () => {
      expect(await roundTrip({ address: unix, token: TOKEN, ...opts })).toEqual(expected);
    });
  }

  it("accepts http:// addresses and refuses gRPC over HTTP/1.1 up front", async () => {
    expect(await roundTrip({ address: `http://${tcp}`, token: TOKEN })).toEqual(expected);
    expect(() => new OrcaClient({ address: tcp, protocol: "grpc", httpVersion: "1.1" })).toThrow(/HTTP\/2/);
    // A connection used only for REST (fetch) may be HTTP/1.1: only an RPC transport needs HTTP/2.
    const rest = new Connection({ address: tcp, httpVersion: "1.1" });
    expect(() => rest.transport).toThrow(/HTTP\/2/);
    expect(typeof rest.fetch).toBe("function");
    await rest.close();
  });
});

describe("TLS", () => {
  const addr = () => (secure.addresses[0] as string).replace("https://", "");
  it("works with a custom CA, over every protocol", async () => {
    for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
      expect(await roundTrip({ address: `https://${addr()}`, tls: { ca: pki.ca }, token: TOKEN, protocol })).toEqual(
        expected,
      );
    }
    for (const protocol of ["connect", "grpc-web"] as const) {
      expect(
        await roundTrip({ address: addr(), tls: { ca: pki.ca }, token: TOKEN, protocol, httpVersion: "1.1" }),
      ).toEqual(expected);
    }
    expect(
      await roundTrip({
        address: `https://${addr()}`,
        tls: { ca: pki.ca },
        token: TOKEN,
        grpcTransport: "connect-node",
      }),
    ).toEqual(expected);
  });

  it("verifies serverName against the certificate", async () => {
    const port = addr().split(":")[1];
    expect(
      await roundTrip({
        address: `https://127.0.0.1:${port}`,
        tls: { ca: pki.ca, serverName: "orca.test" },
        token: TOKEN,
      }),
    ).toEqual(expected);
    const wrong = roundTrip({
      address: `https://127.0.0.1:${port}`,
      tls: { ca: pki.ca, serverName: "evil.test" },
      token: TOKEN,
      retry: false,
    });
    await expect(wrong).rejects.toBeInstanceOf(UnavailableError);
  });

  it("refuses a server whose CA is not trusted", async () => {
    const err = await roundTrip({
      address: `https://${addr()}`,
      token: TOKEN,
      retry: false,
      tls: { ca: pki.rogueCert },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
  });
});

describe("mutual TLS", () => {
  const addr = () => mutual.addresses[0] as string;
  it("accepts a client certificate signed by the client CA", async () => {
    expect(await roundTrip({ address: addr(), tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } })).toEqual(
      expected,
    );
    expect(
      await roundTrip({
        address: addr(),
        protocol: "connect",
        httpVersion: "1.1",
        tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
      }),
    ).toEqual(expected);
  });

  it("refuses a client without a certificate or with a foreign one", async () => {
    await expect(roundTrip({ address: addr(), retry: false, tls: { ca: pki.ca } })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    await expect(
      roundTrip({ address: addr(), retry: false, tls: { ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey } }),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("auth", () => {
  it("refuses missing and wrong tokens with UNAUTHENTICATED", async () => {
    const none = await roundTrip({ address: tcp }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(UnauthenticatedError);
    expect((none as Error).message).toMatch(/missing bearer token/);
    const wrong = await roundTrip({ address: tcp, token: "nope" }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    expect((wrong as Error).message).toMatch(/invalid bearer token/);
  });

  it("calls an async token provider for every call", async () => {
    let calls = 0;
    const orca = new OrcaClient({
      address: tcp,
      token: async () => {
        calls++;
        return TOKEN;
      },
    });
    try {
      const run = await orca.runs.start({ workflowId: `prov-${++n}` });
      await run.submit({});
      await run.submit({});
      expect(calls).toBe(3);
    } finally {
      orca.close();
    }
  });
});

describe("deadlines and cancellation", () => {
  it("applies the client's default deadline and a per-call timeoutMs", async () => {
    faults.startDelayMs = 300;
    try {
      const orca = new OrcaClient({ address: tcp, token: TOKEN, timeoutMs: 50 });
      await expect(orca.runs.start({ workflowId: `slow-${++n}` })).rejects.toBeInstanceOf(DeadlineExceededError);
      await orca.close();
      const patient = new OrcaClient({ address: tcp, token: TOKEN });
      await expect(patient.runs.start({ workflowId: `slow-${++n}` }, { timeoutMs: 50 })).rejects.toBeInstanceOf(
        DeadlineExceededError,
      );
      const slow = `slow-${++n}`;
      await expect(patient.runs.start({ workflowId: slow }, { timeoutMs: 5000 })).resolves.toMatchObject({ id: slow });
      await patient.close();
    } finally {
      faults.startDelayMs = 0;
    }
  });

  it("cancels a call by AbortSignal", async () => {
    faults.startDelayMs = 300;
    const orca = new OrcaClient({ address: tcp, token: TOKEN });
    try {
      const err = await orca.runs
        .start({ workflowId: `abort-${++n}` }, { signal: AbortSignal.timeout(30) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CanceledError);
    } finally {
      faults.startDelayMs = 0;
      orca.close();
    }
  });

  it("ends the server stream when the consumer breaks or aborts", async () => {
    const orca = new OrcaClient({ address: tcp, token: TOKEN });
    try {
      const run = await orca.runs.start({ workflowId: `brk-${++n}` });
      const base = faults.openStreams;
      for await (const ev of run.events()) {
        expect(ev.kind).toBe("start_run");
        expect(faults.openStreams).toBe(base + 1);
        break;
      }
      await eventually(() => faults.openStreams === base);
      const controller = new AbortController();
      const iter = run.events({ signal: controller.signal })[Symbol.asyncIterator]();
      await iter.next();
      await eventually(() => faults.openStreams === base + 1);
      controller.abort();
      await expect(iter.next()).rejects.toBeInstanceOf(CanceledError);
      await eventually(() => faults.openStreams === base);
    } finally {
      orca.close();
    }
  });
});

describe("resilience", () => {
  it("resumes a stream after the server drops the connection, without loss or duplicates", async () => {
    const orca = new OrcaClient({ address: tcp, token: TOKEN, retry: { initialBackoffMs: 10 } });
    try {
      const run = await orca.runs.start({ workflowId: `resume-${++n}` });
      const seen: number[] = [];
      const reading = (async () => {
        for await (const ev of run.events({ max: 41 })) seen.push(ev.id);
      })();
      for (let i = 0; i < 40; i++) {
        await run.submit({ id: `task-${i}` });
        if (i % 10 === 5) {
          await eventually(() => seen.length >= i + 2);
          plain.dropConnections();
        }
      }
      await reading;
      expect(seen).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    } finally {
      orca.close();
    }
  });

  it("retries a lost SubmitTask response with the same envelope id, so it counts once", async () => {
    const orca = new OrcaClient({ address: tcp, token: TOKEN, retry: { initialBackoffMs: 5 } });
    try {
      const run = await orca.runs.start({ workflowId: `retry-${++n}`, budget: { maxTokens: 100 } });
      faults.loseSubmitResponses = 2;
      const before = faults.submitCalls;
      const t = await run.submit({ usage: { tokens: 60 } });
      expect(faults.submitCalls - before).toBe(3);
      const usage = (await take(run.events({ follow: false }), 10)).filter((e) => e.kind === "usage_update");
      expect(usage).toHaveLength(1);
      expect(usage[0]?.parentId).toBe(t.id);
    } finally {
      faults.loseSubmitResponses = 0;
      orca.close();
    }
  });

  it("retries reads on UNAVAILABLE and gives up after maxAttempts", async () => {
    const orca = new OrcaClient({ address: tcp, token: TOKEN, retry: { initialBackoffMs: 5, maxAttempts: 3 } });
    try {
      const run = await orca.runs.start({ workflowId: `read-${++n}` });
      const t = await run.submit({});
      await run.submit({ kind: "agent_result", parentId: t.id, payload: 1 });
      faults.failFetch = 2;
      await expect(run.result(t.id)).resolves.toMatchObject({ ok: true, payload: 1 });
      faults.failFetch = 3;
      await expect(run.result(t.id)).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      faults.failFetch = 0;
      orca.close();
    }
  });

  it("does not retry when retries are switched off", async () => {
    const orca = new OrcaClient({ address: tcp, token: TOKEN, retry: false });
    try {
      const run = await orca.runs.start({ workflowId: `noretry-${++n}` });
      faults.loseSubmitResponses = 1;
      const before = faults.submitCalls;
      await expect(run.submit({})).rejects.toBeInstanceOf(UnavailableError);
      expect(faults.submitCalls - before).toBe(1);
    } finally {
      faults.loseSubmitResponses = 0;
      orca.close();
    }
  });

  it("gives up dialing after dialTimeoutMs when the server never completes the handshake", async () => {
    const { createServer } = await import("node:net");
    const silent = createServer(() => {}); // accepts TCP, never speaks TLS
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const orca = new OrcaClient({
      address: `https://127.0.0.1:${port}`,
      tls: { ca: pki.ca },
      dialTimeoutMs: 100,
      retry: false,
    });
    try {
      const started = Date.now();
      const err = await orca.runs.start({ workflowId: "x" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(/within 100 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      orca.close();
      silent.close();
    }
  });

  it("refuses messages larger than maxReceiveMessageBytes", async () => {
    const big = "x".repeat(64 * 1024);
    const writer = new OrcaClient({ address: tcp, token: TOKEN });
    const reader = new OrcaClient({ address: tcp, token: TOKEN, maxReceiveMessageBytes: 16 * 1024 });
    try {
      const run = await writer.runs.start({ workflowId: `big-${++n}` });
      const t = await run.submit({});
      await run.submit({ kind: "agent_result", parentId: t.id, payload: big });
      await expect(writer.runs.getHandle(run.id).result(t.id)).resolves.toMatchObject({ payload: big });
      const err = await reader.runs
        .getHandle(run.id)
        .result(t.id)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BatonError);
      expect((err as BatonError).code).toBe(Code.ResourceExhausted);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it("fails fast with UNAVAILABLE when nothing listens", async () => {
    const orca = new OrcaClient({
      address: `unix://${join(tmp.dir, "nobody.sock")}`,
      retry: { maxAttempts: 2, initialBackoffMs: 1 },
    });
    try {
      await expect(orca.runs.start({ workflowId: "x" })).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      orca.close();
    }
  });
});
