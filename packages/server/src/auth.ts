import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** Compares two secrets in constant time. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Requires `authorization: Bearer <token>` on every gRPC/Connect call; a missing or wrong
 * token gets UNAUTHENTICATED. Health checks are exempt when `exempt` says so.
 */
export function bearerAuthInterceptor(token: string, exempt: (service: string) => boolean = () => false): Interceptor {
  return (next) => async (req) => {
    if (exempt(req.service.typeName)) return next(req);
    const header = req.header.get("authorization");
    if (header === null)
      throw new ConnectError("missing bearer token: send authorization: Bearer <token>", Code.Unauthenticated);
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1] || !safeEqual(match[1].trim(), token))
      throw new ConnectError("invalid bearer token", Code.Unauthenticated);
    return next(req);
  };
}
