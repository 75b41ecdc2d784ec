import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { JwtVerifier } from "../jwt-verifier.js";
import { authorize, type RoleName } from "./auth.js";
import { withRequestId } from "./errors.js";

/** Request counters of the daemon (GetMetrics). */
export interface RequestCounters {
  requestsTotal: bigint;
  requestsFailed: bigint;
  activeStreams: number;
}

/**
 * Wraps every method of a service implementation: a request id (the caller's `x-request-id`
 * or a new one, echoed in the response header), the role check, the request counters, and
 * errors stamped with the request id in the seed's ErrorInfo.
 */
export function guard<S extends DescService>(
  service: S,
  impl: ServiceImpl<S>,
  roles: Record<keyof ServiceImpl<S>, RoleName>,
  verify: JwtVerifier | undefined,
  counters: RequestCounters,
): ServiceImpl<S> {
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = method.localName as keyof ServiceImpl<S> & string;
    const fn = (impl as Record<string, (req: unknown, ctx: HandlerContext) => unknown>)[name];
    if (!fn) continue;
    const role = roles[name];
    const begin = async (ctx: HandlerContext) => {
      const requestId = ctx.requestHeader.get("x-request-id") || randomUUID();
      ctx.responseHeader.set("x-request-id", requestId);
      counters.requestsTotal++;
      try {
        await authorize(verify, ctx, role);
      } catch (err) {
        counters.requestsFailed++;
        throw withRequestId(err, requestId);
      }
      return requestId;
    };
    if (method.methodKind === "server_streaming") {
      out[name] = async function* (req: unknown, ctx: HandlerContext) {
        const requestId = await begin(ctx);
        counters.activeStreams++;
        try {
          yield* fn.call(impl, req, ctx) as AsyncIterable<unknown>;
        } catch (err) {
          counters.requestsFailed++;
          throw withRequestId(err, requestId);
        } finally {
          counters.activeStreams--;
        }
      };
    } else {
      out[name] = async (req: unknown, ctx: HandlerContext) => {
        const requestId = await begin(ctx);
        try {
          return await fn.call(impl, req, ctx);
        } catch (err) {
          counters.requestsFailed++;
          throw withRequestId(err, requestId);
        }
      };
    }
  }
  return out as ServiceImpl<S>;
}
