// Known vectors for the evidence hash chain, written out by hand rather than produced by the
// code under test: the canonical JSON of each entry is a literal string, and its digest is
// both recomputed here with node:crypto over that literal and pinned as a literal (taken
// once with `printf '%s' '<canonical>' | sha256sum`). Client and server share this module, so
// a test that hashes on both sides with it could not catch a change of the rules; these can.
//
// The rules, from the Portarium contract: `hashSha256` is a lowercase hex SHA-256 (the
// `HashSha256` schema, `^[a-f0-9]{64}$`, no `sha256:` prefix; the real control plane writes
// `sha256:<hex>`, which the verifier takes too) of the entry, and
// `previousHash` is the digest of the entry before it (absent on the first). The contract
// does not spell out the canonical form; ours is JSON with object keys sorted by UTF-16
// code unit at every level, no whitespace, `undefined` members left out, over the entry
// without `hashSha256` and `signatureBase64`.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, evidenceEntryHash, verifyEvidenceChain } from "./evidence-chain.js";
import type { components } from "./gen/portarium/portarium-control-plane.v1.js";

type EvidenceEntry = components["schemas"]["EvidenceEntryV1"];

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const canonical1 =
  '{"actor":{"kind":"System"},"category":"System","correlationId":"corr-1","evidenceId":"ev-1",' +
  '"links":{"runId":"run-1"},"occurredAtIso":"2024-05-01T12:00:00.000Z","schemaVersion":1,' +
  '"summary":"Run started","workspaceId":"ws-1"}';
const hash1 = "8dfdeaa7a0d09e713d6f19d1fa23c5d475232de3d522a85249a93b02f77e2e90";

const canonical2 =
  '{"actor":{"kind":"User","userId":"user-7"},"category":"Approval","correlationId":"corr-1",' +
  '"evidenceId":"ev-2","occurredAtIso":"2024-05-01T12:00:05.000Z",' +
  '"payloadRefs":[{"kind":"Log","uri":"s3://bucket/log.txt"},' +
  '{"contentType":"application/json","kind":"Artifact","uri":"s3://bucket/a.json"}],' +
  `"previousHash":"${hash1}","schemaVersion":1,"summary":"Approved \\"as is\\" \u2013 ok","workspaceId":"ws-1"}`;
const hash2 = "49e350144053f9f250ae1d3af365bfeade18fe794b7cc4e3c0326fbc9788f3a0";

/** The first entry, with its keys in no particular order. */
const entry1: EvidenceEntry = {
  workspaceId: "ws-1",
  summary: "Run started",
  schemaVersion: 1,
  occurredAtIso: "2024-05-01T12:00:00.000Z",
  links: { runId: "run-1" },
  evidenceId: "ev-1",
  correlationId: "corr-1",
  category: "System",
  actor: { kind: "System" },
  hashSha256: hash1,
};

/** The second entry: chained to the first, signed, with nested arrays of objects. */
const entry2: EvidenceEntry = {
  summary: 'Approved "as is" \u2013 ok',
  signatureBase64: "c2lnbmF0dXJl",
  previousHash: hash1,
  payloadRefs: [
    { uri: "s3://bucket/log.txt", kind: "Log" },
    { uri: "s3://bucket/a.json", kind: "Artifact", contentType: "application/json" },
  ],
  actor: { userId: "user-7", kind: "User" },
  schemaVersion: 1,
  evidenceId: "ev-2",
  workspaceId: "ws-1",
  occurredAtIso: "2024-05-01T12:00:05.000Z",
  correlationId: "corr-1",
  category: "Approval",
  hashSha256: hash2,
};

describe("canonicalJson", () => {
  it("sorts keys by UTF-16 code unit at every level and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, B: 2, a: { z: true, _: null, A: [3, 2, 1] } })).toBe(
      '{"B":2,"a":{"A":[3,2,1],"_":null,"z":true},"b":1}',
    );
  });

  it("leaves out undefined members, writes undefined array items as null, and escapes as JSON does", () => {
    expect(canonicalJson({ keep: "x", drop: undefined, list: [1, undefined, 'a"b\n'] })).toBe(
      '{"keep":"x","list":[1,null,"a\\"b\\n"]}',
    );
    expect(canonicalJson("\u00fc\u2013")).toBe('"\u00fc\u2013"');
    expect(canonicalJson([1.5, -0, 1e21, 0.1])).toBe("[1.5,0,1e+21,0.1]");
    expect(canonicalJson(null)).toBe("null");
  });

  it("gives each vector entry the hand-written canonical form, without hashSha256 and signatureBase64", () => {
    const { hashSha256: _h1, ...rest1 } = entry1;
    expect(canonicalJson(rest1)).toBe(canonical1);
    const { hashSha256: _h2, signatureBase64: _s2, ...rest2 } = entry2;
    expect(canonicalJson(rest2)).toBe(canonical2);
  });
});

describe("evidenceEntryHash", () => {
  it("is the lowercase hex SHA-256 of the hand-written canonical JSON", () => {
    expect(sha256(canonical1)).toBe(hash1);
    expect(sha256(canonical2)).toBe(hash2);
    expect(evidenceEntryHash(entry1)).toBe(hash1);
    expect(evidenceEntryHash(entry2)).toBe(hash2);
    expect(hash2).toMatch(/^[a-f0-9]{64}$/);
  });

  it("ignores the entry's own hash and signature, and covers previousHash", () => {
    expect(evidenceEntryHash({ ...entry2, hashSha256: "0".repeat(64), signatureBase64: "b3RoZXI=" })).toBe(hash2);
    const { signatureBase64: _sig, ...unsigned } = entry2;
    expect(evidenceEntryHash(unsigned)).toBe(hash2);
    expect(evidenceEntryHash({ ...entry2, previousHash: "f".repeat(64) })).not.toBe(hash2);
  });
});

describe("verifyEvidenceChain", () => {
  it("accepts the vector chain and finds the first tampered or unlinked entry", () => {
    expect(verifyEvidenceChain([entry1, entry2])).toBeUndefined();
    expect(verifyEvidenceChain([entry2], hash1)).toBeUndefined();
    expect(verifyEvidenceChain([entry1, { ...entry2, summary: "Approved" }])).toMatchObject({
      index: 1,
      evidenceId: "ev-2",
    });
    expect(verifyEvidenceChain([entry2])).toMatchObject({ index: 0, reason: expect.stringContaining("previousHash") });
  });

  it("takes hashes written sha256:<hex>, as the real control plane writes them, and still checks them", () => {
    // The first entry's canonical JSON is unchanged; the second's previousHash is part of
    // what it hashes, so with the prefix written there its digest is over that text.
    const p1 = { ...entry1, hashSha256: `sha256:${hash1}` };
    const p2base = { ...entry2, previousHash: `sha256:${hash1}` };
    const p2 = {
      ...p2base,
      hashSha256: `sha256:${sha256(canonical2.replace(`"previousHash":"${hash1}"`, `"previousHash":"sha256:${hash1}"`))}`,
    };
    expect(p2.hashSha256).toBe(`sha256:${evidenceEntryHash(p2base)}`);
    expect(verifyEvidenceChain([p1, p2])).toBeUndefined();
    // Mixed spellings link too: the hash is the same either way.
    expect(verifyEvidenceChain([p1, entry2])).toBeUndefined();
    expect(verifyEvidenceChain([entry1, p2])).toBeUndefined();
    expect(verifyEvidenceChain([p1, { ...p2, summary: "Approved" }])).toMatchObject({ index: 1, evidenceId: "ev-2" });
    expect(verifyEvidenceChain([{ ...p1, hashSha256: `sha256:${"0".repeat(64)}` }])).toMatchObject({ index: 0 });
    expect(verifyEvidenceChain([{ ...p1, hashSha256: `sha512:${hash1}` }])).toMatchObject({ index: 0 });
  });
});
