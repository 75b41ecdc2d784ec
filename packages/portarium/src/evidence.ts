import type { PagedList } from "@baton/core";
import { type components, type EvidenceChainProblem, verifyEvidenceChain } from "@baton/wire/portarium";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** One entry of the hash-chained evidence log. */
export type EvidenceEntry = S["EvidenceEntryV1"];

/** Filters of `evidence.list`. */
export interface EvidenceListOptions extends ListOptions {
  /** Only entries linked to this run. */
  runId?: string;
  /** Only entries linked to this plan. */
  planId?: string;
  /** Only entries linked to this work item. */
  workItemId?: string;
  /** Only entries of this category. */
  category?: S["EvidenceCategory"];
}

/** What `evidence.verifyChain` found. */
export interface EvidenceChainVerdict {
  /** How many entries were checked. */
  entries: number;
  /** The first break in the chain, or undefined when it is intact. */
  problem: EvidenceChainProblem | undefined;
  /**
   * Set when the log does not start at its first entry ever: the `previousHash` of the
   * oldest entry kept, i.e. the hash of the newest entry the server no longer keeps (it
   * keeps a bounded number per workspace). Compare it with a hash saved from an earlier
   * verification, or pass that hash as `previousHash` to have it checked.
   */
  startsAfter?: string;
}

/** Options of `evidence.verifyChain`. */
export interface EvidenceVerifyOptions extends PortariumCallOptions {
  /**
   * The hash the oldest entry must link to: the `hashSha256` of an entry verified earlier,
   * when the entries before it are gone. Without it, a log whose oldest entry links to an
   * entry no longer kept is verified from that entry on, and the verdict says so in
   * `startsAfter`.
   */
  previousHash?: string;
}

/** The workspace's hash-chained evidence log. */
export class EvidenceResource extends Resource {
  /** Lists evidence entries, oldest first, optionally filtered. */
  list(options: EvidenceListOptions = {}): PagedList<EvidenceEntry> {
    const { runId, planId, workItemId, category } = options;
    const filters = {
      ...(runId !== undefined ? { runId } : {}),
      ...(planId !== undefined ? { planId } : {}),
      ...(workItemId !== undefined ? { workItemId } : {}),
      ...(category !== undefined ? { category } : {}),
    };
    return this.paged(options, (r, page) =>
      r.raw.GET("/v1/workspaces/{workspaceId}/evidence", r.at({}, { ...filters, ...page })),
    );
  }

  /**
   * Reads the whole (unfiltered) log and verifies its hash chain: each entry's hash, and
   * that each links to the one before. A log the server has trimmed (its oldest entries
   * dropped) verifies from the oldest entry kept; see {@link EvidenceChainVerdict.startsAfter}
   * and {@link EvidenceVerifyOptions.previousHash}.
   *
   * @example
   * const { problem, startsAfter } = await portarium.evidence.verifyChain();
   * if (problem) throw new Error(`evidence ${problem.evidenceId}: ${problem.reason}`);
   */
  async verifyChain(options: EvidenceVerifyOptions = {}): Promise<EvidenceChainVerdict> {
    const {
      category: _c,
      runId: _r,
      planId: _p,
      workItemId: _w,
      previousHash,
      ...rest
    } = options as EvidenceVerifyOptions & EvidenceListOptions;
    const entries = await this.list({ ...rest, limit: 200 }).toArray();
    const oldestLink = entries[0]?.previousHash;
    const anchor = previousHash ?? oldestLink;
    return {
      entries: entries.length,
      problem: verifyEvidenceChain(entries, anchor),
      ...(previousHash === undefined && oldestLink !== undefined ? { startsAfter: oldestLink } : {}),
    };
  }
}
