// Random Portarium REST requests, built from the OpenAPI document: every operation, with
// hostile path segments, query parameters, bodies and content types.
import { openapiDocument } from "@baton/wire/portarium";
import type { FuzzRequest, Rng } from "./fuzz-support.js";

type Json = Record<string, unknown>;
const doc = openapiDocument as unknown as { paths: Record<string, Record<string, Json>>; components: Json };

/** Resolves a `#/components/...` reference of the document. */
function resolve<T = Json>(node: Json): T {
  let n: Json = node;
  for (let i = 0; i < 10 && typeof n.$ref === "string"; i++) {
    n = (n.$ref as string)
      .slice(2)
      .split("/")
      .reduce<Json>((o, k) => o[k] as Json, doc as unknown as Json);
  }
  return n as T;
}

/** One operation of the document. */
export interface RestOperation {
  operationId: string;
  method: string;
  template: string;
  pathParams: string[];
  queryParams: { name: string; type: string }[];
  /** The JSON body's schema, resolved (undefined when the operation takes no body). */
  body: Json | undefined;
}

/** Every operation of the Portarium OpenAPI document. */
export function restOperations(): RestOperation[] {
  const out: RestOperation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const params = ((raw.parameters as Json[] | undefined) ?? []).map((p) => resolve<Json>(p));
      const content = raw.requestBody
        ? (resolve<Json>(raw.requestBody as Json).content as Json | undefined)
        : undefined;
      const schema = (content?.["application/json"] as Json | undefined)?.schema as Json | undefined;
      out.push({
        operationId: raw.operationId as string,
        method: method.toUpperCase(),
        template,
        pathParams: [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string),
        queryParams: params
          .filter((p) => p.in === "query")
          .map((p) => ({ name: p.name as string, type: (resolve<Json>(p.schema as Json).type as string) ?? "string" })),
        body: schema ? resolve(schema) : undefined,
      });
    }
  }
  return out;
}

const HOSTILE_SEGMENTS = ["%zz", "%E0%A4%A", "%", "%00", "%2F..%2F", "..", "a".repeat(3000), "%F0%9F%98", "%C0%AF"];

/** A value of the wrong JSON type for a schema. */
function wrongFor(schema: Json, rng: Rng): unknown {
  const s = resolve(schema);
  switch (s.type) {
    case "string":
      return rng.pick([5, true, null, { a: 1 }, [1]]);
    case "integer":
    case "number":
      return rng.pick(["5", true, null, { a: 1 }, [1], 1.5]);
    case "boolean":
      return rng.pick(["true", 1, null]);
    case "array":
      return rng.pick(["x", 5, { a: 1 }]);
    default:
      return rng.pick(["x", 5, [1], null]);
  }
}

/** A body for `op`: wrong types, random JSON, not JSON at all, deeply nested, or oversized. */
function hostileBody(op: RestOperation, rng: Rng): { body: Buffer; contentType: string; kind: string } {
  const kind = rng.pick(["wrong-types", "random-json", "not-json", "deep", "empty", "wrong-content-type", "huge"]);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (kind) {
    case "wrong-types": {
      const props = (op.body?.properties as Record<string, Json> | undefined) ?? {};
      const out: Json = {};
      for (const [name, schema] of Object.entries(props)) if (rng.chance(0.7)) out[name] = wrongFor(schema, rng);
      return { body: json(out), contentType: "application/json", kind };
    }
    case "random-json":
      return {
        body: json(rng.pick([null, [], 5, "x", { [rng.string(6)]: rng.string() }, { schemaVersion: "1" }])),
        contentType: "application/json",
        kind,
      };
    case "not-json":
      return {
        body: Buffer.from(rng.pick(["{", "{'a':1}", "[1,]", "\u0000", rng.string(40)])),
        contentType: "application/json",
        kind,
      };
    case "deep": {
      const depth = 2000 + rng.int(20_000);
      return {
        body: Buffer.from(`${"[".repeat(depth)}${"]".repeat(depth)}`),
        contentType: "application/json",
        kind,
      };
    }
    case "empty":
      return { body: Buffer.alloc(0), contentType: "application/json", kind };
    case "wrong-content-type":
      return { body: json({}), contentType: rng.pick(["text/plain", "application/xml", "multipart/form-data"]), kind };
    default:
      // Just over Portarium's 1 MiB body limit.
      return {
        body: Buffer.from(`{"x":"${"a".repeat(1024 * 1024)}"}`),
        contentType: "application/json",
        kind,
      };
  }
}

/** A hostile request for `op`, authorized with `token`; `workspace` goes in the path most of the time. */
export function hostileRest(
  op: RestOperation,
  rng: Rng,
  token: string,
  workspace: string,
): FuzzRequest & { kind: string } {
  const kinds: string[] = [];
  let path = op.template;
  for (const p of op.pathParams) {
    let v: string;
    if (p === "workspaceId" && rng.chance(0.8)) v = workspace;
    else if (rng.chance(0.5)) {
      v = rng.pick(HOSTILE_SEGMENTS);
      kinds.push(`path:${p}`);
    } else v = encodeURIComponent(rng.string(12)) || "x";
    path = path.replace(`{${p}}`, v);
  }
  const query: string[] = [];
  for (const q of op.queryParams) {
    if (!rng.chance(0.5)) continue;
    const v = rng.pick(
      q.type === "integer"
        ? ["-1", "0", "abc", "1e3", "99999999999999999999", "%zz", "1.5", ""]
        : ["%zz", "", "-1", encodeURIComponent(rng.string(10)), "a".repeat(2000)],
    );
    query.push(`${q.name}=${v}`);
    kinds.push(`query:${q.name}`);
  }
  if (rng.chance(0.1)) query.push(`${rng.pick(["cursor", "limit", "status"])}=${rng.pick(["%", "-5", "%zz"])}`);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (rng.chance(0.1))
    headers["idempotency-key"] = rng.pick(["", "k".repeat(500), "\u00e9t\u00e9"]).replace(/[^\x20-\x7e]/g, "?");
  let body: Buffer | undefined;
  if (op.method !== "GET" && op.method !== "DELETE") {
    const b = hostileBody(op, rng);
    body = b.body;
    headers["content-type"] = b.contentType;
    kinds.push(`body:${b.kind}`);
  }
  return {
    method: op.method,
    path: `${path}${query.length > 0 ? `?${query.join("&")}` : ""}`,
    headers,
    ...(body ? { body } : {}),
    kind: kinds.join(",") || "plain",
  };
}

/** A request for a path no Portarium operation has: edgemesh's bulk download, RPC-looking and unknown paths. */
export function hostilePath(rng: Rng): FuzzRequest {
  const segment = () => (rng.chance(0.5) ? rng.pick(HOSTILE_SEGMENTS) : encodeURIComponent(rng.string(10)));
  const path = rng.pick([
    () => `/bulk/download/${segment()}`,
    () => `/${segment()}/${segment()}`,
    () => `/v1/${segment()}`,
    () => `/orca.v1.Orchestrator/${segment()}`,
    () => `/${"a.".repeat(rng.int(50))}B/C`,
  ])();
  return { method: rng.pick(["GET", "POST", "DELETE", "OPTIONS", "PUT"]), path, headers: {} };
}
