import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createJwtSigner, createJwtVerifier, type JwtFailure, JwtVerificationError } from "./jwt-verifier.js";

/** Every check is made at this moment, through the verifier's injected clock. */
const nowSeconds = 1_750_000_000;
const now = () => nowSeconds * 1000;
const sign = createJwtSigner({ secret: "k" });

async function reasonOf(p: Promise<unknown>): Promise<JwtFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JwtVerificationError);
  return (err as JwtVerificationError).reason;
}

describe("shared HS256 JWT verifier", () => {
  it("accepts what the signer signs, with the claims as given", async () => {
    const claims = { iss: "baton-server", sub: "svc", workspace: "ws-a", iat: nowSeconds, exp: nowSeconds + 60 };
    const token = await sign(claims);
    const header = JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    expect(await createJwtVerifier({ secret: "k", issuer: "baton-server", now })(token)).toEqual(claims);
  });

  it("refuses a wrong signature: another secret, or a payload changed after signing", async () => {
    const token = await sign({ sub: "svc", workspace: "ws-a", exp: nowSeconds + 60 });
    expect(await reasonOf(createJwtVerifier({ secret: "other", now })(token))).toBe("signature");
    const [h, , s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "svc", workspace: "ws-b", exp: nowSeconds + 60 })).toString(
      "base64url",
    );
    expect(await reasonOf(createJwtVerifier({ secret: "k", now })(`${h}.${forged}.${s}`))).toBe("signature");
  });

  it("a token is good until the second before exp, expired from exp on", async () => {
    const token = await sign({ sub: "svc", exp: nowSeconds + 60 });
    const at = (s: number) => createJwtVerifier({ secret: "k", now: () => s * 1000 });
    expect((await at(nowSeconds + 59)(token)).sub).toBe("svc");
    expect(await reasonOf(at(nowSeconds + 60)(token))).toBe("expired");
    // Tolerated skew moves the edge by exactly that many seconds.
    const lenient = createJwtVerifier({ secret: "k", clockToleranceSeconds: 5, now: () => (nowSeconds + 64) * 1000 });
    expect((await lenient(token)).sub).toBe("svc");
  });

  it("refuses nbf in the future, accepts it once reached", async () => {
    const token = await sign({ sub: "svc", nbf: nowSeconds + 30, exp: nowSeconds + 600 });
    expect(await reasonOf(createJwtVerifier({ secret: "k", now })(token))).toBe("not_yet_valid");
    expect((await createJwtVerifier({ secret: "k", now: () => (nowSeconds + 30) * 1000 })(token)).sub).toBe("svc");
  });

  it("refuses a wrong audience or issuer when they are required", async () => {
    const token = await sign({ sub: "svc", aud: "portarium", iss: "baton-server", exp: nowSeconds + 60 });
    expect(await reasonOf(createJwtVerifier({ secret: "k", audience: "stratavore", now })(token))).toBe("audience");
    expect((await createJwtVerifier({ secret: "k", audience: "portarium", now })(token)).aud).toBe("portarium");
    expect(await reasonOf(createJwtVerifier({ secret: "k", issuer: "someone", now })(token))).toBe("issuer");
  });

  it("refuses a missing required claim, a non-numeric exp, alg none and garbage", async () => {
    const verify = createJwtVerifier({ secret: "k", requiredClaims: ["exp", "sub"], now });
    expect(await reasonOf(verify(await sign({ sub: "svc" })))).toBe("claims");
    expect(await reasonOf(verify(await sign({ sub: "svc", exp: "later" } as never)))).toBe("claims");
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    // `alg: none` is not an allowed algorithm, so it fails as a signature, never passes unsigned.
    const unsigned = `${b64({ alg: "none" })}.${b64({ sub: "svc", exp: nowSeconds + 60 })}.`;
    expect(await reasonOf(verify(unsigned))).toBe("signature");
    expect(await reasonOf(verify("a.b"))).toBe("malformed");
    expect(await reasonOf(verify("!!.??.**"))).toBe("malformed");
  });

  it("refuses an HS256 token signed elsewhere with another key", async () => {
    const foreign = await new SignJWT({ sub: "svc", exp: nowSeconds + 60 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("not-k"));
    expect(await reasonOf(createJwtVerifier({ secret: "k", now })(foreign))).toBe("signature");
  });

  it("needs exactly one key source and a non-empty signing secret", () => {
    expect(() => createJwtVerifier({})).toThrow("exactly one");
    expect(() => createJwtVerifier({ secret: "k", jwks: '{"keys":[]}' })).toThrow("exactly one");
    expect(() => createJwtSigner({ secret: "" })).toThrow("non-empty");
  });
});
