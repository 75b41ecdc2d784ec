// The browser build's Connection (connection-browser.ts), run under Node, whose global
// `fetch` is what a browser's would be to it: gRPC-Web and Connect calls over a real
// socket, auth and headers, the bidirectional refusal, close() aborting a stream, an
// unreachable server as UNAVAILABLE, and the Node-only options refused. (Chromium runs the
// same build in test/browser.test.ts.)
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { OrchestratorService } from "@baton/wire/baaaht";
import { Orchestrator } from "@baton/wire/orca";
import { type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Connection } from "../src/connection-browser.js";
import {
  CanceledError,
  InvalidArgumentError,
  toBatonError,
  UnavailableError,
  UnimplementedError,
} from "../src/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An HTTP/1.1 server (as browsers mostly reach gRPC-Web) with `routes`, on a loopback port. */
async function serve(routes: (router: ConnectRouter) => void): Promise<string> {
  const server = http.createServer(connectNodeAdapter({ routes }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function connection(options: ConstructorParameters<typeof Connection>[0]): Connection {
  const c = new Connection(options);
  cleanups.push(() => c.close());
  return c;
}

describe.each(["grpc-web", "connect"] as const)("the browser Connection over %s", (protocol) => {
  it("makes unary calls and server streams with the token and headers", async () => {
    const seen: Array<string | null> = [];
    const address = await serve((r) =>
      r.service(Orchestrator, {
        startRun(req, ctx) {
          seen.push(ctx.requestHeader.get("authorization"), ctx.requestHeader.get("x-tenant"));
          return { runId: req.workflowId };
        },
        async *streamEvents(req) {
          for (let i = 1; i <= 3; i++) yield { event: { id: String(i), runId: req.runId } };
        },
      }),
    );
    const conn = connection({ address, protocol, token: async () => "t0k", headers: { "x-tenant": "acme" } });
    const orca = createClient(Orchestrator, conn.transport);
    expect((await orca.startRun({ workflowId: "wf" })).runId).toBe("wf");
    expect(seen).toEqual(["Bearer t0k", "acme"]);
    const ids: string[] = [];
    for await (const res of orca.streamEvents({ runId: "wf" })) ids.push(res.event?.id ?? "");
    expect(ids).toEqual(["1", "2", "3"]);
  });

  it("refuses a bidirectional call with UNIMPLEMENTED before sending anything", async () => {
    let requests = 0;
    const address = await serve((r) =>
      r.service(OrchestratorService, {
        async *streamMessages(messages) {
          requests++;
          for await (const _ of messages) yield {};
        },
      }),
    );
    const baaaht = createClient(OrchestratorService, connection({ address, protocol }).transport);
    const err = await (async () => {
      for await (const _ of baaaht.streamMessages((async function* () {})())) {
        // nothing comes
      }
    })().catch((e: unknown) => toBatonError(e));
    expect(err).toBeInstanceOf(UnimplementedError);
    expect((err as Error).message).toMatch(/StreamMessages is a bidirectional call, which browsers cannot make/);
    expect(requests).toBe(0);
  });

  it("close() aborts a stream in flight: it ends with CanceledError", async () => {
    const address = await serve((r) =>
      r.service(Orchestrator, {
        async *streamEvents(req, ctx) {
          yield { event: { id: "1", runId: req.runId } };
          // Then nothing, until the client goes away.
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        },
      }),
    );
    const conn = connection({ address, protocol, retry: false });
    const orca = createClient(Orchestrator, conn.transport);
    const ids: string[] = [];
    const err = await (async () => {
      for await (const res of orca.streamEvents({ runId: "r" })) {
        ids.push(res.event?.id ?? "");
        await conn.close();
      }
    })().catch((e: unknown) => toBatonError(e));
    expect(ids).toEqual(["1"]);
    expect(err).toBeInstanceOf(CanceledError);
    expect(conn.closed).toBe(true);
  });

  it("fails a call to a server that is not there with UnavailableError", async () => {
    const address = await serve(() => {});
    await cleanups.pop()?.(); // the server is gone; its port is closed
    const orca = createClient(Orchestrator, connection({ address, protocol, retry: false }).transport);
    const err = await orca.startRun({ workflowId: "wf" }).catch((e: unknown) => toBatonError(e));
    expect(err).toBeInstanceOf(UnavailableError);
    // Node's fetch says why (its cause is the dial error); a browser's does not, and the
    // message then names CORS as a possible cause (test/browser.test.ts sees it).
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as UnavailableError).retryable).toBe(true);
  });
});

describe("the browser Connection refuses what only Node can do", () => {
  const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a Unix socket", { address: "unix:///tmp/x.sock" }, /Unix socket, which only Node can dial/],
    ["the grpc protocol", { address: "http://h:1", protocol: "grpc" }, /grpc protocol needs HTTP\/2 trailers/],
    ["an unknown protocol", { address: "http://h:1", protocol: "soap" }, /unknown protocol soap/],
    ["mutual TLS", { address: "https://h", tls: { cert: "c", key: "k" } }, /tls settings .* are Node-only/],
    ["a custom CA", { address: "https://h", tls: { ca: "ca" } }, /tls settings .* are Node-only/],
    ["an HTTP version", { address: "http://h:1", httpVersion: "2" }, /httpVersion is Node-only/],
    ["a dial timeout", { address: "http://h:1", dialTimeoutMs: 5 }, /dialTimeoutMs is Node-only/],
    ["a send limit", { address: "http://h:1", maxSendMessageBytes: 5 }, /maxSendMessageBytes is Node-only/],
    ["a receive limit", { address: "http://h:1", maxReceiveMessageBytes: 5 }, /maxReceiveMessageBytes is Node-only/],
  ];
  it.each(refusals)("%s", (_what, options, message) => {
    const make = () => new Connection(options as unknown as ConstructorParameters<typeof Connection>[0]);
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(message);
  });

  it("takes https:// and tls: true (the browser's own trust store), and defaults to gRPC-Web", () => {
    expect(new Connection({ address: "https://orca.example.test" }).address.baseUrl).toBe("https://orca.example.test");
    expect(new Connection({ address: "orca.example.test:443", tls: true }).address.secure).toBe(true);
  });
});
