// @noble/hashes, not node:crypto: the same synchronous SHA-256 in Node and in browsers.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { components } from "./gen/portarium/portarium-control-plane.v1.js";

type EvidenceEntry = components["schemas"]["EvidenceEntryV1"];

/**
 * Serialises a JSON value with object keys sorted at every level and no whitespace, so
 * the same value always hashes the same way, whatever order its keys were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/**
 * The `hashSha256` of an evidence entry: SHA-256 (lowercase hex) of the canonical JSON of
 * the entry without `hashSha256` and `signatureBase64`. `previousHash` is included, which
 * is what chains each entry to the one before it.
 */
export function evidenceEntryHash(entry: Omit<EvidenceEntry, "hashSha256"> & { hashSha256?: string }): string {
  const { hashSha256: _hash, signatureBase64: _sig, ...rest } = entry;
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(rest))));
}

/** Why {@link verifyEvidenceChain} rejected a chain. */
export interface EvidenceChainProblem {
  /** Index of the first entry that does not verify. */
  index: number;
  /** The entry's id. */
  evidenceId: string;
  /** What is wrong with it. */
  reason: string;
}

/** The prefix some servers (the real Portarium control plane) write before a hex SHA-256. */
const SHA256_PREFIX = "sha256:";

/** A hash as lowercase hex: `sha256:<hex>` and `<hex>` are the same hash. */
const bare = (hash: string | undefined): string | undefined =>
  hash?.startsWith(SHA256_PREFIX) ? hash.slice(SHA256_PREFIX.length) : hash;

/**
 * Verifies a workspace's evidence log, oldest entry first: every entry's `hashSha256`
 * matches its content, and every `previousHash` is the hash of the entry before it (the
 * first entry has none, unless `previousHash` of a truncated chain is given). A hash may be
 * written as lowercase hex or as `sha256:<hex>` (as the real control plane writes them);
 * either way it is recomputed and checked, over the entry exactly as the server sent it
 * (fields the schema does not declare included).
 *
 * @returns `undefined` when the chain is intact, otherwise the first problem found.
 */
export function verifyEvidenceChain(
  entries: readonly EvidenceEntry[],
  previousHash?: string,
): EvidenceChainProblem | undefined {
  let prev = previousHash;
  for (const [index, entry] of entries.entries()) {
    if (bare(entry.previousHash) !== bare(prev)) {
      return { index, evidenceId: entry.evidenceId, reason: `previousHash ${entry.previousHash} != ${prev}` };
    }
    const hash = evidenceEntryHash(entry);
    if (hash !== bare(entry.hashSha256)) {
      return { index, evidenceId: entry.evidenceId, reason: `hashSha256 ${entry.hashSha256} != computed ${hash}` };
    }
    prev = entry.hashSha256;
  }
  return undefined;
}
