import type { Exchange, ExchangeResponse } from "@baton/core";
import { createFinalURL, createQuerySerializer, defaultPathSerializer, removeTrailingSlash } from "openapi-fetch";
import { correlationIdOf } from "./correlation-id.js";
import type { PortariumRaw } from "./raw.js";
import { headersOf } from "./transport.js";

/**
 * The openapi-fetch methods the resources call, typed by the OpenAPI document: `raw`
 * itself, or {@link createJsonCalls}' lean version of them.
 */
export type PortariumCalls = Pick<PortariumRaw, "GET" | "POST" | "PUT" | "PATCH" | "DELETE">;

/** What the resources read from a response: openapi-fetch's `Response`, or a lean one. */
export interface CallResponse {
  /** Whether the status is 2xx. */
  readonly ok: boolean;
  /** The HTTP status. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
}

/** The part of an openapi-fetch init {@link createJsonCalls} reads. */
interface CallInitLike {
  params?: { path?: Record<string, unknown>; query?: Record<string, unknown> };
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** What {@link createJsonCalls} builds requests from. */
export interface JsonCallsOptions {
  /** The connection's base URL. */
  baseUrl: string;
  /** Headers of every request (the connection's), below the call's own. */
  headers: Record<string, string> | undefined;
  /** Where requests go: the connection's exchange wrapped in auth and retries. */
  exchange: Exchange;
}

const decoder = new TextDecoder();

/**
 * openapi-fetch's `GET`/`POST`/`PUT`/`PATCH`/`DELETE` for JSON calls without a web
 * `Request` or `Response`: the same URL (openapi-fetch's own path and query serializers),
 * headers (the connection's, then the call's, `Content-Type: application/json` under a
 * body, an `x-correlation-id` as {@link correlationIdMiddleware} sets it), body
 * (`JSON.stringify`) and result (`data` parsed as openapi-fetch parses it, `error` the
 * parsed problem or the text), sent through `exchange` with the whole answer in memory.
 * A client uses it when nothing needs web objects: no middleware and no custom `fetch`.
 */
export function createJsonCalls(options: JsonCallsOptions): PortariumCalls {
  const baseUrl = removeTrailingSlash(options.baseUrl);
  const querySerializer = createQuerySerializer();
  const pathSerializer = templatePathSerializer();
  const base = lowerCased(options.headers);
  const send = async (method: string, schemaPath: string, init: CallInitLike = {}) => {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers["content-type"] = "application/json";
    Object.assign(headers, base, lowerCased(init.headers));
    const id = correlationIdOf((name) => headers[name]);
    headers["x-correlation-id"] = id;
    headers["x-request-id"] = id;
    const url = createFinalURL(schemaPath, {
      baseUrl,
      params: init.params ?? {},
      querySerializer,
      pathSerializer,
    });
    const res = await options.exchange({
      method,
      url,
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init.signal ? { signal: init.signal } : {}),
    });
    return resultOf(method, res);
  };
  const calls = {
    GET: (path: string, init?: CallInitLike) => send("GET", path, init),
    POST: (path: string, init?: CallInitLike) => send("POST", path, init),
    PUT: (path: string, init?: CallInitLike) => send("PUT", path, init),
    PATCH: (path: string, init?: CallInitLike) => send("PATCH", path, init),
    DELETE: (path: string, init?: CallInitLike) => send("DELETE", path, init),
  };
  // The methods take what openapi-fetch's take (their types come from the OpenAPI document).
  return calls as unknown as PortariumCalls;
}

/** openapi-fetch's `{ data }` or `{ error }` of a response read whole, the same way it reads one. */
function resultOf(method: string, res: ExchangeResponse): { data?: unknown; error?: unknown; response: CallResponse } {
  const response = new LeanResponse(res);
  const length = res.headers["content-length"];
  if (
    res.status === 204 ||
    method === "HEAD" ||
    (length === "0" && !String(res.headers["transfer-encoding"] ?? "").includes("chunked"))
  ) {
    return response.ok ? { data: undefined, response } : { error: undefined, response };
  }
  const text = decoder.decode(res.body);
  if (response.ok) return { data: text === "" && !length ? undefined : JSON.parse(text), response };
  try {
    return { error: JSON.parse(text), response };
  } catch {
    return { error: text, response };
  }
}

/** A {@link CallResponse} whose `Headers` are built only when read (an error needs them, a success does not). */
class LeanResponse implements CallResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly #raw: ExchangeResponse["headers"];
  #headers: Headers | undefined;

  constructor(res: ExchangeResponse) {
    this.ok = res.status >= 200 && res.status < 300;
    this.status = res.status;
    this.#raw = res.headers;
  }

  get headers(): Headers {
    this.#headers ??= headersOf(this.#raw);
    return this.#headers;
  }
}

/** A URL split at its `{name}` path parameters: the text around them, and their names. */
interface PathTemplate {
  readonly literals: string[];
  readonly names: string[];
}

/** How many URL templates one client keeps (its resources use a few dozen). */
const MAX_TEMPLATES = 512;

/**
 * openapi-fetch's `defaultPathSerializer` for the parameters the resources pass (strings,
 * numbers, booleans in the `simple` style): each URL is split at its `{name}`s once, and a
 * call's URL is the parts joined with its `encodeURIComponent`-ed values (a missing one
 * left as `{name}`, as openapi-fetch leaves it). openapi-fetch matches a regular expression
 * and replaces each parameter in the whole string per call, the larger part of a call's own
 * cost. Label, matrix and exploded parameters, and list or object values, go to
 * openapi-fetch's serializer.
 *
 * @internal
 */
export function templatePathSerializer(): (pathname: string, pathParams: Record<string, unknown>) => string {
  const templates = new Map<string, PathTemplate | null>();
  const templateOf = (pathname: string): PathTemplate | null => {
    let template = templates.get(pathname);
    if (template !== undefined) return template;
    const literals: string[] = [];
    const names: string[] = [];
    let last = 0;
    for (const m of pathname.matchAll(/\{([^{}]+)\}/g)) {
      literals.push(pathname.slice(last, m.index));
      names.push(m[1] as string);
      last = m.index + m[0].length;
    }
    literals.push(pathname.slice(last));
    const plain = names.every((n) => !n.endsWith("*") && !n.startsWith(".") && !n.startsWith(";"));
    template = plain ? { literals, names } : null;
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(pathname, template);
    return template;
  };
  return (pathname, pathParams) => {
    const template = templateOf(pathname);
    if (template === null) return defaultPathSerializer(pathname, pathParams);
    const { literals, names } = template;
    let url = literals[0] as string;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const value = pathParams[name];
      if (value === undefined || value === null) url += `{${name}}`;
      else if (typeof value === "object") return defaultPathSerializer(pathname, pathParams);
      else url += encodeURIComponent(value as string | number | boolean);
      url += literals[i + 1] as string;
    }
    return url;
  };
}

function lowerCased(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  // As openapi-fetch merges them: an unset (undefined or null) value sends no header.
  if (headers) for (const [k, v] of Object.entries(headers)) if (v != null) out[k.toLowerCase()] = v;
  return out;
}
