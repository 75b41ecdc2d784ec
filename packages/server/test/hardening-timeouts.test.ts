// Connection timeouts and the connection cap (#13.7, #8.2): silent, slow (slowloris) and
// idle connections are closed, half-sent requests time out, connections past the cap are
// refused, and an open stream outlives the idle timeout. Small values, real sockets; the
// tests assert what happened (closed, answered), never how long it took.
import * as http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { Connection } from "@baton/core";
import {
  type BaaahtModule,
  type BatonServer,
  baaahtModule,
  createPortariumModule,
  orcaModule,
  type PortariumModule,
  parseCli,
  startServer,
  USAGE,
} from "@baton/server";
import { grpcHealth } from "@baton/wire/baaaht";
import { StartRunRequestSchema } from "@baton/wire/orca";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, h2Call, RawConnection, withH2Session } from "./hardening-support.js";
import { ACCOUNTS } from "./portarium-support.js";

const { HealthCheckResponse_ServingStatus: ServingStatus } = grpcHealth;

let server: BatonServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: Parameters<typeof startServer>[0]) {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], ...options });
  return server.addresses[0] as string;
}

describe("connection timeouts", () => {
  it("closes a connection that never sends a byte", async () => {
    const conn = new RawConnection(await start({ connectionTimeoutMs: 100 }));
    await conn.closed;
    expect(conn.socket.bytesRead).toBe(0);
  });

  it("answers 408 and closes a connection whose headers never complete (slowloris)", async () => {
    const conn = new RawConnection(await start({ headerTimeoutMs: 100, connectionTimeoutMs: 60_000 }));
    conn.write("GET /v1/workspaces HTTP/1.1\r\nHost: x\r\n");
    // A header byte now and then, never the blank line.
    const drip = setInterval(() => conn.write("X"), 20);
    try {
      const res = await conn.response();
      expect(res.status).toBe(408);
      expect(res.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(res.body.toString())).toMatchObject({ status: 408 });
      await conn.closed;
    } finally {
      clearInterval(drip);
    }
  });

  it("closes an idle HTTP/1.1 keep-alive connection after its request", async () => {
    const conn = new RawConnection(await start({ connectionTimeoutMs: 100 }));
    conn.write("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await conn.response()).status).toBe(404);
    await conn.closed;
  });

  it("sends GOAWAY to an HTTP/2 session with no open stream and closes it", async () => {
    const address = await start({ connectionTimeoutMs: 100 });
    const session = http2.connect(`http://${address}`);
    session.on("error", () => {});
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code) => resolve(code)));
    const closed = new Promise<void>((resolve) => session.once("close", () => resolve()));
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    await closed;
  });

  it("keeps an open follow stream working past the idle timeout", async () => {
    const address = await start({ connectionTimeoutMs: 100 });
    const module = (server as BatonServer).modules.get("baaaht") as BaaahtModule;
    const connection = new Connection({ address });
    try {
      const health = createClient(grpcHealth.Health, connection.transport);
      const it = health.watch({ service: "" })[Symbol.asyncIterator]();
      expect((await it.next()).value?.status).toBe(ServingStatus.SERVING);
      // Several idle timeouts pass with the stream open and silent.
      await sleep(500);
      module.setServingStatus("", ServingStatus.NOT_SERVING);
      expect((await it.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
      await it.return?.();
    } finally {
      await connection.close();
    }
  });

  it("answers 408 to a REST request whose body never completes, and closes the connection", async () => {
    const address = await start({
      modules: [createPortariumModule],
      settings: { "portarium.serviceAccounts": ACCOUNTS },
      requestTimeoutMs: 100,
    });
    const token = await ((server as BatonServer).modules.get("portarium") as PortariumModule).signToken({
      sub: "demo",
      workspace: "ws-a",
    });
    const conn = new RawConnection(address);
    conn.write(
      `POST /v1/workspaces/ws-a/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
    );
    const res = await conn.response();
    expect(res.status).toBe(408);
    expect(res.headers["content-type"]).toBe("application/problem+json");
    expect(res.headers.connection).toBe("close");
    await conn.closed;
  });
});

describe("request timeout on the gRPC fast path", () => {
  it("fails a call whose body never completes with DEADLINE_EXCEEDED, as connect's path does, and resets the stream", async () => {
    const address = await start({ modules: [orcaModule()], requestTimeoutMs: 100 });
    const frame = grpcFrame(
      Buffer.from(toBinary(StartRunRequestSchema, create(StartRunRequestSchema, { workflowId: "late" }))),
    );
    // Half an envelope prefix, and the stream left open: the body never completes.
    const half = frame.subarray(0, 3);
    const stats = () => (server as BatonServer).stats();
    const before = stats().rpcPaths;
    const fast = await withH2Session(address, (s) =>
      h2Call(s, grpcHeaders("/orca.v1.Orchestrator/StartRun"), half, { end: false }),
    );
    // The same on connect's path (a gzip grpc-encoding takes it), timed by the compat handler.
    const slow = await withH2Session(address, (s) =>
      h2Call(s, { ...grpcHeaders("/orca.v1.Orchestrator/StartRun"), "grpc-encoding": "gzip" }, half, { end: false }),
    );
    const after = stats().rpcPaths;
    expect(after.fast - before.fast).toBe(1);
    expect(after.connect - before.connect).toBe(1);
    for (const answer of [fast, slow]) {
      expect(answer.status).toBe(200);
      expect(answer.grpcStatus).toBe(String(Code.DeadlineExceeded));
      expect(decodeURIComponent(answer.grpcMessage ?? "")).toBe("the request body was not complete within 100 ms");
      // Answered before the client finished sending: RST_STREAM NO_ERROR tells it to stop.
      expect(answer.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    }
    expect(fast.trailers).toEqual(slow.trailers);
    // Nothing is left open: the sweep's entry and the call are gone.
    await expect.poll(() => stats().requests).toBe(0);
  });

  it("answers a call whose body completes in time, however slowly it starts", async () => {
    const address = await start({ modules: [orcaModule()], requestTimeoutMs: 1000 });
    const frame = grpcFrame(
      Buffer.from(toBinary(StartRunRequestSchema, create(StartRunRequestSchema, { workflowId: "slow" }))),
    );
    const answer = await withH2Session(
      address,
      (s) =>
        new Promise<{ status: string | undefined }>((resolve) => {
          const stream = s.request({
            ":method": "POST",
            te: "trailers",
            ...grpcHeaders("/orca.v1.Orchestrator/StartRun"),
          });
          let status: string | undefined;
          stream.on("trailers", (t) => {
            status = t["grpc-status"] as string;
          });
          stream.on("data", () => {});
          stream.on("close", () => resolve({ status }));
          stream.write(frame.subarray(0, 3));
          // The rest on a later turn of the event loop (no time asserted).
          setImmediate(() => stream.end(frame.subarray(3)));
        }),
    );
    expect(answer.status).toBe("0");
  });
});

describe("maxConnections", () => {
  it("closes connections past the cap at once and keeps serving the others", async () => {
    const address = await start({ maxConnections: 2 });
    const a = new RawConnection(address);
    const b = new RawConnection(address);
    a.write("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    b.write("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await a.response()).status).toBe(404);
    expect((await b.response()).status).toBe(404);
    const c = new RawConnection(address);
    await c.closed;
    expect(c.socket.bytesRead).toBe(0);
    a.write("GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    expect((await a.response()).status).toBe(404);
    a.close();
    b.close();
  });

  it("are set by flags, and bad flag values are refused", () => {
    expect(
      parseCli([
        "--connection-timeout-ms",
        "1000",
        "--header-timeout-ms",
        "2000",
        "--request-timeout-ms",
        "3000",
        "--max-connections",
        "50",
        "--max-stream-buffer-bytes",
        "65536",
        "--stream-stall-timeout-ms",
        "4000",
        "--max-send-message-bytes",
        "1024",
      ]),
    ).toMatchObject({
      connectionTimeoutMs: 1000,
      headerTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      maxConnections: 50,
      maxStreamBufferBytes: 65536,
      streamStallTimeoutMs: 4000,
      maxSendMessageBytes: 1024,
    });
    expect(parseCli([]).connectionTimeoutMs).toBeUndefined();
    expect(() => parseCli(["--max-connections", "0"])).toThrow(/--max-connections/);
    expect(() => parseCli(["--request-timeout-ms", "soon"])).toThrow(/--request-timeout-ms/);
    expect(() => parseCli(["--connection-timeout-ms", String(2 ** 31)])).toThrow(/--connection-timeout-ms/);
    expect(USAGE).toContain("--max-connections");
  });

  it("refuses invalid limits", async () => {
    await expect(startServer({ listen: ["127.0.0.1:0"], maxConnections: 0 })).rejects.toThrow(/maxConnections/);
    await expect(startServer({ listen: ["127.0.0.1:0"], connectionTimeoutMs: 2 ** 31 })).rejects.toThrow(
      /connectionTimeoutMs/,
    );
    await expect(startServer({ listen: ["127.0.0.1:0"], requestTimeoutMs: 1.5 })).rejects.toThrow(/requestTimeoutMs/);
  });
});
