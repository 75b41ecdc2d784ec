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

  /** Reads the whole (unfiltered) log and verifies its hash chain. */
  async verifyChain(options: PortariumCallOptions = {}): Promise<EvidenceChainVerdict> {
    const { category: _c, runId: _r, planId: _p, workItemId: _w, ...rest } = options as EvidenceListOptions;
    const entries = await this.list({ ...rest, limit: 200 }).toArray();
    return { entries: entries.length, problem: verifyEvidenceChain(entries) };
  }
}
