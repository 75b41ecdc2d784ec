import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  BatonError,
  BudgetExceededError,
  CanceledError,
  Code,
  ConflictError,
  NotFoundError,
  parseRetryAfter,
  ResourceExhaustedError,
  toBatonError,
  UnavailableError,
} from "./errors.js";

describe("BatonError", () => {
  it("maps connect codes to classes with the right retryability", () => {
    expect(toBatonError(new ConnectError("x", Code.NotFound))).toBeInstanceOf(NotFoundError);
    const un = toBatonError(new ConnectError("x", Code.Unavailable));
    expect(un).toBeInstanceOf(UnavailableError);
    expect(un.retryable).toBe(true);
    const ae = toBatonError(new ConnectError("x", Code.AlreadyExists));
    expect(ae).toBeInstanceOf(AlreadyExistsError);
    expect(ae).toBeInstanceOf(ConflictError);
    expect(ae).not.toBeInstanceOf(NotFoundError);
    const re = toBatonError(new ConnectError("slow down", Code.ResourceExhausted));
    expect(re.retryable).toBe(false);
    const pushed = toBatonError(
      new ConnectError("slow down", Code.ResourceExhausted, { "grpc-retry-pushback-ms": "250" }),
    );
    expect(pushed.retryable).toBe(true);
    expect(pushed.retryAfterMs).toBe(250);
  });

  it("keeps the cause and passes Baton errors through", () => {
    const cause = new ConnectError("gone", Code.NotFound);
    const e = toBatonError(cause);
    expect(e.cause).toBe(cause);
    expect(e.detail).toBe("gone");
    expect(toBatonError(e)).toBe(e);
  });

  it("turns aborts into CanceledError and socket failures into UnavailableError", () => {
    expect(toBatonError(new DOMException("stop", "AbortError"))).toBeInstanceOf(CanceledError);
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const e = toBatonError(new ConnectError("x", Code.Internal, undefined, undefined, refused));
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.retryable).toBe(true);
    const tls = Object.assign(new Error("self-signed"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    const t = toBatonError(new ConnectError("x", Code.Internal, undefined, undefined, tls));
    expect(t).toBeInstanceOf(UnavailableError);
    expect(t.retryable).toBe(false);
    // A stream refused by a server going away (REFUSED_STREAM, before its GOAWAY arrived).
    const refusedStream = Object.assign(new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"), {
      code: "ERR_HTTP2_STREAM_ERROR",
    });
    const r = toBatonError(new ConnectError("x", Code.Internal, undefined, undefined, refusedStream));
    expect(r).toBeInstanceOf(UnavailableError);
    expect(r.retryable).toBe(true);
    const otherReset = Object.assign(new Error("Stream closed with error code NGHTTP2_PROTOCOL_ERROR"), {
      code: "ERR_HTTP2_STREAM_ERROR",
    });
    expect(toBatonError(new ConnectError("x", Code.Internal, undefined, undefined, otherReset)).code).toBe(
      Code.Internal,
    );
  });

  it("says which budget limit was exceeded and is never retryable", () => {
    const e = new BudgetExceededError("over", { limit: "max_tokens", retryAfterMs: 5 });
    expect(e).toBeInstanceOf(ResourceExhaustedError);
    expect(e).toBeInstanceOf(BatonError);
    expect(e.limit).toBe("max_tokens");
    expect(e.retryable).toBe(false);
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.name).toBe("BudgetExceededError");
  });

  it("recognises errors from a second copy of the package", async () => {
    // A real duplicate: the built module copied to another path is a separate module instance.
    const dir = mkdtempSync(join(import.meta.dirname, "../.copy-"));
    try {
      cpSync(join(import.meta.dirname, "../dist"), dir, { recursive: true });
      const other = (await import(join(dir, "errors.js"))) as typeof import("./errors.js");
      expect(other.BatonError).not.toBe(BatonError);
      const foreign = new other.BudgetExceededError("over", { limit: "max_tokens" });
      expect(foreign).toBeInstanceOf(BatonError);
      expect(foreign).toBeInstanceOf(ResourceExhaustedError);
      expect(foreign).toBeInstanceOf(BudgetExceededError);
      expect(foreign).not.toBeInstanceOf(NotFoundError);
      expect(new NotFoundError("x")).toBeInstanceOf(other.NotFoundError);
      expect({}).not.toBeInstanceOf(BatonError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds, HTTP dates and gRPC pushback", () => {
    expect(parseRetryAfter(new Headers({ "retry-after": "3" }))).toBe(3000);
    expect(parseRetryAfter(new Headers({ "retry-after": new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(parseRetryAfter(new Headers({ "grpc-retry-pushback-ms": "120" }))).toBe(120);
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });
});

describe("decoded error details", () => {
  it("reads RetryInfo as the retry delay and BadRequest as field errors", async () => {
    const { BadRequestSchema, RetryInfoSchema } = await import("@baton/wire/google-rpc");
    const e = toBatonError(
      new ConnectError("busy", Code.ResourceExhausted, undefined, [
        { desc: RetryInfoSchema, value: { retryDelay: { seconds: 1n, nanos: 500_000_000 } } },
        {
          desc: BadRequestSchema,
          value: { fieldViolations: [{ field: "task.id", description: "must not be empty" }] },
        },
      ]),
    );
    expect(e).toBeInstanceOf(ResourceExhaustedError);
    expect(e.retryAfterMs).toBe(1500);
    expect(e.retryable).toBe(true);
    expect(e.errors).toEqual({ "task.id": ["must not be empty"] });
  });

  it("takes the request id from x-request-id, else x-correlation-id", () => {
    expect(toBatonError(new ConnectError("x", Code.NotFound, { "x-request-id": "a" })).requestId).toBe("a");
    expect(toBatonError(new ConnectError("x", Code.NotFound, { "x-correlation-id": "b" })).requestId).toBe("b");
    expect(toBatonError(new ConnectError("x", Code.NotFound)).requestId).toBeUndefined();
  });
});
