import { type components, evidenceEntryHash } from "@baton/wire/portarium";
import { type Clock, isoNow } from "../clock.js";
import { newId } from "./ids.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { EvidenceRecord, PortariumStore } from "./store.js";

type S = components["schemas"];

/** What an evidence entry records; the log adds ids, time and the hash chain. */
export interface EvidenceInit {
  /** Groups the entries of one run, invocation, machine... */
  correlationId: string;
  /** What kind of thing happened. */
  category: S["EvidenceCategory"];
  /** What happened, in words. */
  summary: string;
  /** Who did it (default: the system). */
  actor?: S["EvidenceActor"];
  /** What it is about. */
  links?: S["EvidenceLinks"];
  /** Content the entry vouches for, by hash. */
  payloadRefs?: S["EvidencePayloadRef"][];
}

/** The filters of the workspace evidence list. */
export interface EvidenceFilter {
  /** Only entries linked to this run. */
  runId?: string;
  /** Only entries linked to this plan. */
  planId?: string;
  /** Only entries linked to this work item. */
  workItemId?: string;
  /** Only entries of this category. */
  category?: S["EvidenceCategory"];
}

/** An evidence actor for a user. */
export const userActor = (userId: string): S["EvidenceActor"] => ({ kind: "User", userId });

/**
 * Each workspace's evidence log: append-only, every entry hashed (`hashSha256` over its
 * canonical JSON) and chained to the one before (`previousHash`), so that a client can
 * verify that nothing was changed, removed or inserted.
 */
export class EvidenceLog {
  readonly #store: PortariumStore;
  readonly #clock: Clock;
  readonly #lastHash = new Map<string, string>();

  constructor(store: PortariumStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Appends an entry to the workspace's chain and answers it. */
  append(workspaceId: string, init: EvidenceInit): EvidenceRecord {
    const prev = this.#lastHash.get(workspaceId);
    const base = {
      schemaVersion: 1 as const,
      evidenceId: newId("ev"),
      workspaceId,
      correlationId: init.correlationId,
      occurredAtIso: isoNow(this.#clock),
      category: init.category,
      summary: init.summary,
      actor: init.actor ?? { kind: "System" as const },
      ...(init.links && Object.keys(init.links).length > 0 ? { links: init.links } : {}),
      ...(init.payloadRefs && init.payloadRefs.length > 0 ? { payloadRefs: init.payloadRefs } : {}),
      ...(prev ? { previousHash: prev } : {}),
    };
    const entry: EvidenceRecord = { ...base, hashSha256: evidenceEntryHash(base) };
    this.#lastHash.set(workspaceId, entry.hashSha256);
    return this.#store.evidence.insert(workspaceId, entry.evidenceId, entry);
  }

  /**
   * A page of the workspace's entries that match every given filter, oldest first.
   *
   * @throws {HttpProblem} 400 for a cursor of another list (or another filter).
   */
  list(workspaceId: string, filter: EvidenceFilter, page: PageQuery): ListPage<EvidenceRecord> {
    const key = `evidence:${filter.runId ?? ""}:${filter.planId ?? ""}:${filter.workItemId ?? ""}:${filter.category ?? ""}`;
    return pageOf(
      this.#store.evidence,
      workspaceId,
      key,
      page,
      (e) =>
        (filter.runId === undefined || e.links?.runId === filter.runId) &&
        (filter.planId === undefined || e.links?.planId === filter.planId) &&
        (filter.workItemId === undefined || e.links?.workItemId === filter.workItemId) &&
        (filter.category === undefined || e.category === filter.category),
    );
  }
}
