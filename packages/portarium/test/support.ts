import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Connection, type Exchange } from "@baton/core";
import { PortariumClient, type PortariumClientOptions } from "@baton/portarium";
import { type BatonServer, type Clock, createPortariumModule, type PortariumModule, startServer } from "@baton/server";

/** Service accounts of the test server: `demo` may use ws-a and ws-b, `other` only ws-b. */
export const ACCOUNTS = "demo:s3cret:ws-a,ws-b\nother:pw:ws-b";

/** The `demo` service account's credentials. */
export const DEMO = Object.freeze({ clientId: "demo", clientSecret: "s3cret" });

/** A client of `address` as the demo service account, in ws-a unless `options` say otherwise. */
export function demoClient(address: string, options: PortariumClientOptions = {}): PortariumClient {
  return new PortariumClient({ address, clientCredentials: DEMO, workspaceId: "ws-a", ...options });
}

/** A running server with only the Portarium module. */
export interface TestServer {
  server: BatonServer;
  module: PortariumModule;
  /** The address a client dials: `http://host:port`, or `unix:///path` when listening on a socket. */
  address: string;
}

/**
 * Starts baton-server (Portarium only) on a free port (or on `listen`, e.g. a
 * `unix:///path`), on the system clock or `clock` (a `ManualClock`: time moves by hand);
 * responses are schema-checked by the server, machine invocations take 100 ms unless
 * `settings` say otherwise.
 */
export async function startPortarium(
  settings: Record<string, string> = {},
  listen = "127.0.0.1:0",
  clock?: Clock,
): Promise<TestServer> {
  const server = await startServer({
    ...(clock ? { clock } : {}),
    listen: [listen],
    modules: [createPortariumModule],
    settings: {
      "portarium.serviceAccounts": ACCOUNTS,
      "portarium.jwtSecret": "test-secret",
      "portarium.validateResponses": "true",
      // Machine invocations run through their states in a tenth of a second.
      "portarium.invocationDurationMs": "100",
      ...settings,
    },
  });
  const module = server.modules.get("portarium") as PortariumModule;
  const address = server.addresses[0] ?? "";
  return { server, module, address: address.startsWith("unix:") ? address : `http://${address}` };
}

/** One response a {@link recordingFetch} saw. */
export interface Recorded {
  method: string;
  path: string;
  status: number;
  contentType: string | undefined;
  body: unknown;
  requestHeaders: Headers;
  /** The request body, parsed as JSON. */
  requestBody: unknown;
}

/** Wraps a fetch (a client's `connection.fetch`, say) and records every request and response (bodies parsed as JSON). */
export function recordingFetch(inner: (r: Request) => Promise<Response>): {
  fetch: (r: Request) => Promise<Response>;
  records: Recorded[];
} {
  const records: Recorded[] = [];
  return {
    records,
    async fetch(request: Request): Promise<Response> {
      const sent = request.body ? await request.clone().text() : "";
      const requestBody: unknown = sent === "" ? undefined : JSON.parse(sent);
      const res = await inner(request);
      const contentType = res.headers.get("content-type") ?? undefined;
      if (contentType?.startsWith("text/event-stream")) {
        records.push({
          method: request.method,
          path: new URL(request.url).pathname,
          status: res.status,
          contentType,
          body: undefined,
          requestHeaders: request.headers,
          requestBody,
        });
        return res;
      }
      const text = await res.text();
      let body: unknown;
      if (text !== "") body = JSON.parse(text);
      records.push({
        method: request.method,
        path: new URL(request.url).pathname,
        status: res.status,
        contentType,
        body,
        requestHeaders: request.headers,
        requestBody,
      });
      return new Response(text === "" ? null : text, { status: res.status, headers: res.headers });
    },
  };
}

/** A workflow body: `tier` Auto finishes runs at once, others wait for operators. */
export function workflowBody(tier: "Auto" | "HumanApprove" = "HumanApprove", name = "invoice approval") {
  return {
    name,
    executionTier: tier,
    actions: [{ actionId: "act-1", order: 1, portFamily: "FinanceAccounting" as const, operation: "invoice.approve" }],
  };
}

/**
 * Calls `probe` until `done` accepts its result, at most `timeoutMs` (then fails the test with
 * the last result). For states that change on the server's clock: no blind sleeps.
 */
export async function pollUntil<T>(
  probe: () => Promise<T> | T,
  done: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** What a promise (or a PagedList) rejects with; undefined when it resolves. */
export function errOf(p: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(p).then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** One request a {@link startHttp} server received. */
export interface Seen {
  method: string;
  /** The path, without the query. */
  path: string;
  /** The path and query, as sent. */
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A real HTTP server for a test: what it received, and its address. */
export interface TestHttpServer {
  /** `http://127.0.0.1:port`. */
  address: string;
  /** Every request so far, in order. */
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * Starts a `node:http` server on a free port that answers with `handle` (called with the
 * request, its body already read, and how many requests came before it). For what
 * baton-server will not do: fail on purpose, drop sockets, answer garbage.
 */
export async function startHttp(
  handle: (req: Seen, res: ServerResponse, index: number) => void | Promise<void>,
): Promise<TestHttpServer> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r: Seen = {
      method: req.method ?? "",
      path: new URL(req.url ?? "/", "http://x").pathname,
      url: req.url ?? "/",
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    seen.push(r);
    await handle(r, res, seen.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers `status` with a JSON (or problem+json, for errors) body. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": status >= 400 ? "application/problem+json" : "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A run as the control plane answers it, for servers that stand in for Portarium. */
export function runBody(runId: string) {
  return {
    schemaVersion: 1,
    runId,
    workspaceId: "ws-a",
    workflowId: "wf-1",
    correlationId: "corr-1",
    executionTier: "Auto",
    initiatedByUserId: "demo",
    status: "Running",
    createdAtIso: "2024-01-01T00:00:00.000Z",
  };
}

/**
 * A connection that records every request and response of its `fetch` (streams, and
 * clients with middleware) and of its `exchange` (a client's JSON calls) in `records`.
 */
export function recordingConnection(
  address: string,
  httpVersion: "1.1" | "2",
): { connection: Connection; records: Recorded[] } {
  const records: Recorded[] = [];
  class Recording extends Connection {
    protected override createFetch() {
      const rec = recordingFetch(super.createFetch());
      return (request: Request) =>
        rec.fetch(request).finally(() => {
          records.push(...rec.records.splice(0));
        });
    }
    protected override createExchange(): Exchange {
      const inner = super.createExchange();
      return async (request) => {
        const res = await inner(request);
        const sent =
          request.body === undefined
            ? ""
            : new TextDecoder().decode(
                typeof request.body === "string" ? new TextEncoder().encode(request.body) : request.body,
              );
        const text = new TextDecoder().decode(res.body);
        const contentType = res.headers["content-type"];
        records.push({
          method: request.method,
          path: new URL(request.url).pathname,
          status: res.status,
          contentType: typeof contentType === "string" ? contentType : undefined,
          body: text === "" ? undefined : JSON.parse(text),
          requestHeaders: new Headers(request.headers),
          requestBody: sent === "" ? undefined : JSON.parse(sent),
        });
        return res;
      };
    }
  }
  return { connection: new Recording({ address, httpVersion }), records };
}
