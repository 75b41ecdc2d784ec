// A Portarium-only baton-server for the server's own tests, driven over plain HTTP the way
// a contract-only client would: the server's tests use no client package.
import { type BatonServer, type Clock, createPortariumModule, type PortariumModule, startServer } from "@baton/server";
import type { components } from "@baton/wire/portarium";

/** Service accounts of the test server: `demo` may use ws-a and ws-b. */
export const ACCOUNTS = "demo:s3cret:ws-a,ws-b";

/** The document's schemas, by name. */
export type Schemas = components["schemas"];

/** What one request answered. */
export interface Answer<T> {
  status: number;
  headers: Headers;
  /** The JSON body, parsed as the type the caller expects (undefined when there was none). */
  body: T;
}

/** A running Portarium server and a way to call it. */
export interface PortariumHarness {
  server: BatonServer;
  module: PortariumModule;
  baseUrl: string;
  /** A token of `demo` for a workspace (default ws-a), signed on the server's clock. */
  token(workspace?: string): Promise<string>;
  /** Calls the server with demo's ws-a token (unless `headers` carry another authorization). */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Answer<T>>;
  close(): Promise<void>;
}

/**
 * Starts baton-server with only the Portarium module on a free port; every response is
 * checked against the OpenAPI document by the server (a nonconforming one would be a 500).
 */
export async function startPortarium(
  options: { clock?: Clock; settings?: Record<string, string> } = {},
): Promise<PortariumHarness> {
  const server = await startServer({
    listen: ["127.0.0.1:0"],
    modules: [createPortariumModule],
    ...(options.clock ? { clock: options.clock } : {}),
    settings: {
      "portarium.serviceAccounts": ACCOUNTS,
      "portarium.validateResponses": "true",
      ...options.settings,
    },
  });
  const module = server.modules.get("portarium") as PortariumModule;
  const baseUrl = `http://${server.addresses[0]}`;
  const token = (workspace = "ws-a") => module.signToken({ sub: "demo", workspace });
  return {
    server,
    module,
    baseUrl,
    token,
    async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await token()}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: (text === "" ? undefined : JSON.parse(text)) as T };
    },
    close: () => server.close(),
  };
}

/** A machine invocation request body for `machineId` in ws-a. */
export function invocation(machineId: string, invocationId: string, action: string, input?: Record<string, unknown>) {
  return { schemaVersion: 1, invocationId, machineId, workspaceId: "ws-a", action, ...(input ? { input } : {}) };
}
