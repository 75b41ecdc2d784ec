import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { JWT_ISSUER, JwtError, signJwt, verifyJwt } from "./jwt.js";
import { decodeCursor, encodeCursor } from "./paging.js";
import { parseServiceAccounts } from "./service-accounts.js";

/** Every check is made at this moment (verifyJwt takes the time as an argument). */
const now = 1_750_000_000;
const claims = { iss: JWT_ISSUER, sub: "svc", workspace: "ws-a", iat: now, exp: now + 60, jti: "j1" };
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("HS256 JWT", () => {
  it("round-trips and checks signature, algorithm, issuer and expiry", () => {
    const token = signJwt(claims, "k");
    expect(verifyJwt(token, "k", now)).toEqual(claims);
    expect(() => verifyJwt(token, "other", now)).toThrow("bad signature");
    const [h, , s] = token.split(".");
    expect(() => verifyJwt(`${h}.${b64({ ...claims, workspace: "ws-b" })}.${s}`, "k", now)).toThrow("bad signature");
    expect(() => verifyJwt(`${b64({ alg: "none" })}.${b64(claims)}.`, "k", now)).toThrow("unsupported token algorithm");
    expect(() => verifyJwt(signJwt({ ...claims, iss: "someone" }, "k"), "k", now)).toThrow("wrong issuer");
    expect(() => verifyJwt("a.b", "k", now)).toThrow(JwtError);
    expect(() => verifyJwt("!!.??.**", "k", now)).toThrow(JwtError);
  });

  it("a token is good until the second before exp, and expired from exp on", () => {
    const token = signJwt(claims, "k");
    expect(verifyJwt(token, "k", claims.exp - 1)).toEqual(claims);
    expect(() => verifyJwt(token, "k", claims.exp)).toThrow("token expired");
    expect(() => verifyJwt(signJwt({ ...claims, exp: "later" } as never, "k"), "k", now)).toThrow("token expired");
  });

  it("is a standard HS256 JWT any library can verify", () => {
    const token = signJwt(claims, "k");
    const [h, p, s] = token.split(".") as [string, string, string];
    expect(JSON.parse(Buffer.from(h, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    expect(createHmac("sha256", "k").update(`${h}.${p}`).digest("base64url")).toBe(s);
  });
});

describe("service accounts and cursors", () => {
  it("parses ID:SECRET:WS[,WS] lines", () => {
    expect(parseServiceAccounts("a:b:ws1,ws2\n\nc:d:e:ws3")).toEqual([
      { clientId: "a", clientSecret: "b", workspaces: ["ws1", "ws2"] },
      { clientId: "c", clientSecret: "d:e", workspaces: ["ws3"] },
    ]);
    expect(() => parseServiceAccounts("nonsense")).toThrow();
  });

  it("cursors are opaque, bound to their list, and refused otherwise", () => {
    const c = encodeCursor("runs", 42);
    expect(decodeCursor("runs", c)).toBe(42);
    expect(() => decodeCursor("approvals", c)).toThrow("invalid cursor");
    expect(() => decodeCursor("runs", "garbage")).toThrow("invalid cursor");
    expect(decodeCursor("runs", undefined)).toBeUndefined();
  });
});
