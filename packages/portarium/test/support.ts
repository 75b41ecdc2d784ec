import { type BatonServer, createPortariumModule, type PortariumModule, startServer } from "@baton/server";

/** Service accounts of the test server: `demo` may use ws-a and ws-b, `other` only ws-b. */
export const ACCOUNTS = "demo:s3cret:ws-a,ws-b\nother:pw:ws-b";

/** A running server with only the Portarium module. */
export interface TestServer {
  server: BatonServer;
  module: PortariumModule;
  baseUrl: string;
}

/**
 * Starts baton-server (Portarium only) on a free port; responses are schema-checked by the
 * server, machine invocations take 100 ms unless `settings` say otherwise.
 */
export async function startPortarium(settings: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer({
    listen: ["127.0.0.1:0"],
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
  return { server, module, baseUrl: `http://${server.addresses[0]}` };
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

/** Wraps a fetch and records every request and response (bodies parsed as JSON). */
export function recordingFetch(inner: (r: Request) => Promise<Response> = (r) => fetch(r)): {
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
