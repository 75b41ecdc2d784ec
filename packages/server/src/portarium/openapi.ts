import { createRequire } from "node:module";
import { openapiDocument } from "@baton/wire/portarium";
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";

// ajv and ajv-formats are CommonJS, loaded with `require` on the first validation: loading
// them is a good part of the server's start, and a server that validates nothing never needs them.
const require = createRequire(import.meta.url);

/** ajv's 2020-12 compiler with ajv-formats added (ajv-formats' `exports.default` is the plugin). */
function newAjv(): Ajv2020 {
  const { Ajv2020: Compiler } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  const formats = require("ajv-formats") as { default: (ajv: Ajv2020) => void };
  const ajv = new Compiler({ strict: false, allErrors: true, validateFormats: true });
  formats.default(ajv);
  return ajv;
}

const DOC_ID = "urn:baton:portarium:openapi";
const METHODS = ["get", "put", "post", "delete", "patch"] as const;

type Json = Record<string, unknown>;

/** One parameter of an operation, resolved. */
export interface ParameterDef {
  /** Its name on the wire. */
  name: string;
  /** Where it travels. */
  in: "path" | "query" | "header";
  /** Whether the request must carry it. */
  required: boolean;
  /** JSON type of its schema (`integer`, `string`...), for coercing query text. */
  type: string | undefined;
  /** JSON pointer of its schema inside the document. */
  schemaPointer: string;
}

/** One operation of the document, ready to validate. */
export interface OperationDef {
  /** The contract's operation id. */
  operationId: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The path template, e.g. `/v1/workspaces/{workspaceId}/runs`. */
  template: string;
  /** Whether it needs a bearer token. */
  secured: boolean;
  /** Its parameters (path-level and operation-level). */
  parameters: ParameterDef[];
  /** JSON pointer of the JSON request body schema, when it takes one. */
  bodyPointer: string | undefined;
  /** Whether the body is required. */
  bodyRequired: boolean;
}

const esc = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

function lookup(pointer: string): unknown {
  let node: unknown = openapiDocument;
  for (const raw of pointer.replace(/^#\//, "").split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    node = (node as Json | undefined)?.[key];
  }
  return node;
}

/**
 * The Portarium OpenAPI document as the server uses it: every operation's definition
 * (method, path template, security, parameters, body schema) and validators for requests
 * and responses. It reads the generated `openapiDocument` of `@baton/wire/portarium`, never
 * a file at runtime. Validation uses ajv's JSON Schema 2020-12 dialect, which OpenAPI 3.1
 * uses. Routing is the operation table's ({@link PortariumRouter}).
 */
export class OpenApiSchema {
  /** Every operation of the document, in document order. */
  readonly operations: OperationDef[] = [];
  /** Built on the first validation, not at startup: compiling ajv's meta-schema and the document is most of the module's start time. */
  #ajv: Ajv2020 | undefined;
  readonly #validators = new Map<string, ValidateFunction>();

  #compiler(): Ajv2020 {
    if (this.#ajv) return this.#ajv;
    const ajv = newAjv();
    ajv.addSchema(openapiDocument as unknown as Json, DOC_ID);
    this.#ajv = ajv;
    return ajv;
  }

  constructor() {
    const paths = openapiDocument.paths as unknown as Record<string, Json>;
    for (const [template, item] of Object.entries(paths)) {
      const shared = (item.parameters as Json[] | undefined) ?? [];
      for (const method of METHODS) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const base = `#/paths/${esc(template)}/${method}`;
        const params = [
          ...shared.map((p, i) => this.#param(p, `#/paths/${esc(template)}/parameters/${i}`)),
          ...((op.parameters as Json[] | undefined) ?? []).map((p, i) => this.#param(p, `${base}/parameters/${i}`)),
        ];
        const body = op.requestBody as Json | undefined;
        const hasJson = (body?.content as Json | undefined)?.["application/json"] !== undefined;
        this.operations.push({
          operationId: op.operationId as string,
          method: method.toUpperCase(),
          template,
          secured: !(Array.isArray(op.security) && op.security.length === 0),
          parameters: params,
          bodyPointer: hasJson ? `${base}/requestBody/content/application~1json/schema` : undefined,
          bodyRequired: body?.required === true,
        });
      }
    }
  }

  #param(p: Json, pointer: string): ParameterDef {
    let at = pointer;
    let def = p;
    if (typeof p.$ref === "string") {
      at = p.$ref;
      def = lookup(p.$ref) as Json;
    }
    let schema = def.schema as Json;
    while (typeof schema.$ref === "string") schema = lookup(schema.$ref) as Json;
    return {
      name: def.name as string,
      in: def.in as ParameterDef["in"],
      required: def.required === true,
      type: typeof schema.type === "string" ? schema.type : undefined,
      schemaPointer: `${at}/schema`,
    };
  }

  /** The compiled validator of the schema at a JSON pointer of the document. */
  validator(pointer: string): ValidateFunction {
    let v = this.#validators.get(pointer);
    if (!v) {
      v = this.#compiler().compile({ $ref: `${DOC_ID}${pointer}` });
      this.#validators.set(pointer, v);
    }
    return v;
  }

  /**
   * Validates one value against the schema at `pointer` and adds messages to `errors`,
   * keyed by `prefix` plus the JSON pointer of the offending field.
   */
  check(pointer: string, value: unknown, prefix: string, errors: Record<string, string[]>): void {
    const v = this.validator(pointer);
    if (v(value)) return;
    addAjvErrors(v.errors ?? [], prefix, errors);
  }

  /**
   * Validates a response: its status must be declared (or covered by `default`), its
   * content type and body must match the declared schema.
   *
   * @returns the problems found; empty when the response conforms.
   */
  validateResponse(operationId: string, status: number, contentType: string | undefined, body: unknown): string[] {
    const op = this.operations.find((o) => o.operationId === operationId);
    if (!op) return [`unknown operation ${operationId}`];
    const base = `#/paths/${esc(op.template)}/${op.method.toLowerCase()}/responses`;
    const responses = lookup(base) as Json;
    let key = String(status);
    if (!(key in responses)) key = "default";
    if (!(key in responses)) return [`status ${status} is not declared for ${operationId}`];
    let pointer = `${base}/${key}`;
    let res = responses[key] as Json;
    if (typeof res.$ref === "string") {
      pointer = res.$ref;
      res = lookup(res.$ref) as Json;
    }
    const content = res.content as Json | undefined;
    if (!content) return body === undefined ? [] : [`status ${status} of ${operationId} must have no body`];
    const ct = (contentType ?? "").split(";")[0]?.trim() ?? "";
    if (!(ct in content)) return [`content type ${ct || "none"} is not declared for ${operationId} ${status}`];
    if (ct === "text/event-stream") return [];
    const errors: Record<string, string[]> = {};
    this.check(`${pointer}/content/${esc(ct)}/schema`, body, "", errors);
    return Object.entries(errors).map(([k, msgs]) => `${k || "/"}: ${msgs.join("; ")}`);
  }
}

function addAjvErrors(list: ErrorObject[], prefix: string, errors: Record<string, string[]>): void {
  for (const e of list) {
    let path = e.instancePath;
    let message = e.message ?? "is invalid";
    if (e.keyword === "required") {
      path += `/${(e.params as { missingProperty: string }).missingProperty}`;
      message = "is required";
    } else if (e.keyword === "additionalProperties") {
      path += `/${(e.params as { additionalProperty: string }).additionalProperty}`;
      message = "is not a known property";
    } else if (e.keyword === "enum") {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
    }
    const key = prefix === "" ? path || "/" : `${prefix}${path}`;
    const msgs = errors[key] ?? [];
    errors[key] = msgs;
    if (!msgs.includes(message)) msgs.push(message);
  }
}
