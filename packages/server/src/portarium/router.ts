import type { OpenApiSchema, OperationDef } from "./openapi.js";
import type { OperationEntry, OperationHandler } from "./operation.js";
import { requiredScope } from "./scopes.js";

/** An operation the router serves: its document definition and its handler. */
export interface RoutedOperation extends OperationDef {
  /** The operation table's handler. */
  readonly handler: OperationHandler<unknown>;
  /** The token scope it needs (see `requiredScope`); absent on operations that take no token. */
  readonly scope: string | undefined;
}

/** What {@link PortariumRouter.match} found for a method and a path. */
export type RouteMatch =
  | {
      /** An operation matches the method and the path. */
      kind: "operation";
      /** The operation to run. */
      op: RoutedOperation;
      /** The path parameters by name, percent-decoded. */
      pathParams: Record<string, string>;
    }
  | {
      /** The path exists, the method does not: answer 405 with `Allow: <allowed>`. */
      kind: "method-not-allowed";
      /** The methods the path has. */
      allowed: string[];
    }
  | {
      /** A path segment is not valid percent-encoding: answer 400 naming the parameter. */
      kind: "malformed";
      /** The path parameter whose segment is malformed. */
      param: string;
      /** What is wrong with it. */
      detail: string;
    }
  | {
      /** No path template matches: answer 404. */
      kind: "none";
    };

type Segment = { literal: string } | { param: string };

interface Template {
  readonly template: string;
  readonly segments: Segment[];
  /** How many segments are literal: the most specific matching template wins. */
  readonly literals: number;
  /** Its operations by upper-case method, in the document's method order. */
  readonly byMethod: Map<string, RoutedOperation>;
}

const parse = (template: string): Segment[] =>
  template
    .split("/")
    .slice(1)
    .map((s) => {
      const m = /^\{([^}]+)\}$/.exec(s);
      return m?.[1] ? { param: m[1] } : { literal: s };
    });

/**
 * Routes Portarium requests through the operation table: one entry per operation of the
 * OpenAPI document (method, path template, operation id, handler). A request path is
 * matched against every template segment by segment (a `{name}` segment takes any one
 * non-empty segment, percent-decoded); the most specific matching template wins; then the
 * method picks the operation.
 *
 * The table and the document must agree exactly: the constructor refuses a table that
 * misses an operation of the document, serves one the document does not declare, names
 * it under another id, or lists it twice, and a secured operation whose path names no
 * scope resource.
 */
export class PortariumRouter {
  /** Every operation, in document order. */
  readonly operations: readonly RoutedOperation[];
  readonly #schema: OpenApiSchema;
  readonly #templates: Template[] = [];

  /** @throws {Error} listing every way the table and the document disagree. */
  constructor(schema: OpenApiSchema, table: readonly OperationEntry[]) {
    this.#schema = schema;
    const problems: string[] = [];
    const entries = new Map<string, OperationEntry>();
    for (const e of table) {
      const key = `${e.method} ${e.path}`;
      if (entries.has(key)) problems.push(`${key} is in the table twice`);
      entries.set(key, e);
    }
    const operations: RoutedOperation[] = [];
    for (const def of schema.operations) {
      const key = `${def.method} ${def.template}`;
      const entry = entries.get(key);
      entries.delete(key);
      if (!entry) {
        problems.push(`${key} (${def.operationId}) has no entry in the table`);
        continue;
      }
      if (entry.operationId !== def.operationId) {
        problems.push(`${key} is ${def.operationId} in the document, ${entry.operationId} in the table`);
      }
      let scope: string | undefined;
      try {
        scope = def.secured ? requiredScope(def.method, def.template) : undefined;
      } catch (err) {
        problems.push((err as Error).message);
      }
      operations.push({ ...def, handler: entry.handler, scope });
    }
    for (const [key, e] of entries) problems.push(`${key} (${e.operationId}) is not an operation of the document`);
    if (problems.length > 0) throw new Error(`the Portarium operation table is wrong: ${problems.join("; ")}`);
    this.operations = operations;
    for (const op of operations) {
      let t = this.#templates.find((x) => x.template === op.template);
      if (!t) {
        const segments = parse(op.template);
        t = {
          template: op.template,
          segments,
          literals: segments.filter((s) => "literal" in s).length,
          byMethod: new Map(),
        };
        this.#templates.push(t);
      }
      t.byMethod.set(op.method, op);
    }
    this.#templates.sort((a, b) => b.literals - a.literals);
  }

  /** Finds the operation for a method and a path (without its query). */
  match(method: string, path: string): RouteMatch {
    const given = path.split("/").slice(1);
    for (const t of this.#templates) {
      if (t.segments.length !== given.length) continue;
      const raw: Record<string, string> = {};
      const fits = t.segments.every((s, i) => {
        const part = given[i] as string;
        if ("literal" in s) return s.literal === part;
        raw[s.param] = part;
        return part !== "";
      });
      if (!fits) continue;
      const op = t.byMethod.get(method.toUpperCase());
      if (!op) return { kind: "method-not-allowed", allowed: [...t.byMethod.keys()] };
      const pathParams: Record<string, string> = {};
      for (const [name, value] of Object.entries(raw)) {
        try {
          pathParams[name] = decodeURIComponent(value);
        } catch {
          return {
            kind: "malformed",
            param: name,
            detail: `path segment ${name} is not valid percent-encoding: ${value}`,
          };
        }
      }
      return { kind: "operation", op, pathParams };
    }
    return { kind: "none" };
  }

  /**
   * Validates one value against the schema at a JSON pointer of the document, adding
   * messages to `errors` (see {@link OpenApiSchema.check}).
   */
  check(pointer: string, value: unknown, prefix: string, errors: Record<string, string[]>): void {
    this.#schema.check(pointer, value, prefix, errors);
  }

  /** Validates a response against the document (see {@link OpenApiSchema.validateResponse}). */
  validateResponse(operationId: string, status: number, contentType: string | undefined, body: unknown): string[] {
    return this.#schema.validateResponse(operationId, status, contentType, body);
  }
}
