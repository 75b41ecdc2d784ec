import type { AnyRequest, AnyResponse } from "../module.js";

/** Base of the `type` URI of every problem the module answers. */
export const PROBLEM_TYPE_BASE = "urn:baton:portarium:problem:";

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
};

/** An error answered as `application/problem+json` (RFC 9457). */
export class HttpProblem extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The slug appended to {@link PROBLEM_TYPE_BASE}. */
  readonly slug: string;
  /** Per-field messages, for validation failures. */
  readonly errors: Record<string, string[]> | undefined;
  /** Extra response headers (`WWW-Authenticate`, `Allow`). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    slug: string,
    detail: string,
    extra: { errors?: Record<string, string[]>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.slug = slug;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }

  /** The ProblemDetails body. */
  body(): Record<string, unknown> {
    return {
      type: `${PROBLEM_TYPE_BASE}${this.slug}`,
      title: titles[this.status] ?? "Error",
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** Shorthands for the problems the module answers. */
export const problems = {
  notFound: (what: string) => new HttpProblem(404, "not-found", `${what} not found`),
  conflict: (detail: string) => new HttpProblem(409, "conflict", detail),
  forbidden: (detail: string) => new HttpProblem(403, "forbidden", detail),
  unauthorized: (detail: string) =>
    new HttpProblem(401, "unauthorized", detail, {
      headers: { "www-authenticate": `Bearer realm="portarium", error="invalid_token"` },
    }),
  invalid: (detail: string, errors: Record<string, string[]>) =>
    new HttpProblem(400, "validation-error", detail, { errors }),
};

const decodes = (s: string): boolean => {
  try {
    decodeURIComponent(s.replace(/\+/g, " "));
    return true;
  } catch {
    return false;
  }
};

/**
 * The names of the query parameters of `search` (a URL's `?...` part) whose name or value
 * is not valid percent-encoding (`%E0%A4%A`, a lone `%`): `URLSearchParams` would quietly
 * turn them into U+FFFD, so they are refused instead. Names are given as far as they decode.
 */
export function malformedQueryParams(search: string): string[] {
  const bad: string[] = [];
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (!decodes(name) || (eq >= 0 && !decodes(pair.slice(eq + 1)))) {
      bad.push(new URLSearchParams(`${name}=`).keys().next().value ?? name);
    }
  }
  return bad;
}

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Deepest nesting of arrays and objects a JSON request body may have: the schema checks
 * and the idempotency fingerprint walk bodies recursively, and a deeper one (`[[[[...]]]]`,
 * a few hundred KiB) would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/** How deep `value` nests arrays and objects (iterative, so any depth is measured safely); stops counting past `limit`. */
function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Reads and parses a JSON request body. An empty body is `undefined`.
 *
 * @throws {HttpProblem} 413 over {@link MAX_BODY_BYTES}, 415 when not JSON, 400 on bad JSON or
 *   JSON nested deeper than {@link MAX_JSON_DEPTH}.
 */
export async function readJsonBody(req: AnyRequest): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new HttpProblem(413, "body-too-large", `request body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(buf);
  }
  if (size === 0) return undefined;
  const type = String(req.headers["content-type"] ?? "")
    .split(";")[0]
    ?.trim()
    .toLowerCase();
  if (type !== "application/json" && !type?.endsWith("+json")) {
    throw new HttpProblem(
      415,
      "unsupported-media-type",
      `request bodies must be application/json, got ${type || "none"}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw problems.invalid("request body is not valid JSON", { "/": [String((err as Error).message)] });
  }
  if (jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw problems.invalid(`request body nests deeper than ${MAX_JSON_DEPTH} levels`, {
      "/": [`arrays and objects may nest at most ${MAX_JSON_DEPTH} levels deep`],
    });
  }
  return body;
}

/** Writes a response. `body === undefined` sends no body (204). */
export function send(
  res: AnyResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = "application/json",
): void {
  if (body === undefined) {
    (res as { writeHead(s: number, h: Record<string, string>): void }).writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  (res as { writeHead(s: number, h: Record<string, string>): void }).writeHead(status, {
    ...headers,
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
