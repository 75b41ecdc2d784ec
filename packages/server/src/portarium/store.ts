import type { components } from "@baton/wire/portarium";
import { makeRoom } from "../retention.js";
import { HttpProblem } from "./http.js";

type S = components["schemas"];
/** A workspace as stored. */
export type WorkspaceRecord = S["Workspace"];
/** A workflow as stored. */
export type WorkflowRecord = S["WorkflowV1"];
/** A run as stored. */
export type RunRecord = S["RunV1"];
/** An approval as stored. */
export type ApprovalRecord = S["ApprovalV1"];
/** A machine as stored. */
export type MachineRecord = S["MachineV1"];
/** An agent as stored. */
export type AgentRecord = S["AgentV1"];
/** An evidence entry as stored. */
export type EvidenceRecord = S["EvidenceEntryV1"];
/** A machine invocation as stored. */
export interface InvocationRecord {
  /** The machine it runs on. */
  machineId: string;
  /** The request as received. */
  request: S["MachineInvocationRequestV1"];
  /** The latest state. */
  response: S["MachineInvocationResponseV1"];
  /** Every progress event, in order. */
  events: S["MachineInvocationProgressEventV1"][];
}

/** One page of a table: items after a position, and the position of the last one. */
export interface TablePage<T> {
  /** The items, oldest first. */
  items: T[];
  /** Sequence number of the last item of the page (the next page starts after it). */
  lastSeq: number | undefined;
  /** Whether more items follow. */
  more: boolean;
}

/**
 * One collection of the store, per workspace. Every insert gets a sequence number higher
 * than any before it, and pages are ordered by it; a page that starts after sequence N
 * therefore never skips an item that existed when the previous page was read, and never
 * repeats one, however many items are inserted meanwhile.
 */
export interface Table<T> {
  /** Adds a new item; its position is after every existing item. */
  insert(workspaceId: string, id: string, value: T): T;
  /** The item, or undefined. */
  get(workspaceId: string, id: string): T | undefined;
  /** Replaces an existing item, keeping its position. */
  update(workspaceId: string, id: string, value: T): T;
  /** Removes an item. Returns whether it existed. */
  delete(workspaceId: string, id: string): boolean;
  /** Up to `limit` items with a sequence number above `afterSeq` that pass `filter`. */
  page(workspaceId: string, afterSeq: number | undefined, limit: number, filter?: (item: T) => boolean): TablePage<T>;
  /** Every item of a workspace that passes `filter`, oldest first. */
  all(workspaceId: string, filter?: (item: T) => boolean): T[];
}

/** Where the Portarium module keeps its state. */
export interface PortariumStore {
  /** The workspace list, kept under the global workspace key `""`. */
  readonly workspaces: Table<WorkspaceRecord>;
  /** Workflow definitions per workspace. */
  readonly workflows: Table<WorkflowRecord>;
  /** Workflow runs per workspace (finished ones may be evicted). */
  readonly runs: Table<RunRecord>;
  /** Approvals per workspace (decided ones may be evicted). */
  readonly approvals: Table<ApprovalRecord>;
  /** Registered machines per workspace. */
  readonly machines: Table<MachineRecord>;
  /** Registered agents per workspace. */
  readonly agents: Table<AgentRecord>;
  /** Evidence entries per workspace, in chain order (the oldest may be evicted). */
  readonly evidence: Table<EvidenceRecord>;
  /** Machine invocations per workspace (finished ones may be evicted). */
  readonly invocations: Table<InvocationRecord>;
}

/** How many items a table keeps per workspace, and which it may forget to make room. */
export interface TableRetention<T> {
  /** Items kept per workspace. */
  max: number;
  /** Whether an item may be forgotten (a finished run, a decided approval...). */
  evictable: (item: T) => boolean;
  /** The setting that sets `max`, named in the refusal. */
  setting: string;
}

/** The bounded tables of a {@link MemoryPortariumStore}; a table not named keeps everything. */
export interface PortariumRetention {
  /** Runs: finished ones may go. */
  runs?: TableRetention<RunRecord>;
  /** Approvals: decided ones may go. */
  approvals?: TableRetention<ApprovalRecord>;
  /** Evidence entries: the oldest go (the retained chain then starts at a `previousHash` of a dropped entry). */
  evidence?: TableRetention<EvidenceRecord>;
  /** Machine invocations: finished ones may go. */
  invocations?: TableRetention<InvocationRecord>;
}

let sequence = 0;

class MemoryTable<T> implements Table<T> {
  readonly #byWorkspace = new Map<string, Map<string, { seq: number; value: T }>>();
  readonly #retention: TableRetention<T> | undefined;

  constructor(retention?: TableRetention<T>) {
    this.#retention = retention;
  }

  #ws(workspaceId: string): Map<string, { seq: number; value: T }> {
    let m = this.#byWorkspace.get(workspaceId);
    if (!m) {
      m = new Map();
      this.#byWorkspace.set(workspaceId, m);
    }
    return m;
  }
  insert(workspaceId: string, id: string, value: T): T {
    const m = this.#ws(workspaceId);
    if (m.has(id)) throw new Error(`duplicate id ${id}`);
    const r = this.#retention;
    if (r && !makeRoom(m, r.max, (row) => r.evictable(row.value))) {
      throw new HttpProblem(
        507,
        "retention-full",
        `this workspace keeps ${r.max} of these and none has finished, so none can be forgotten (${r.setting})`,
      );
    }
    m.set(id, { seq: ++sequence, value });
    return value;
  }
  get(workspaceId: string, id: string): T | undefined {
    return this.#byWorkspace.get(workspaceId)?.get(id)?.value;
  }
  update(workspaceId: string, id: string, value: T): T {
    const row = this.#byWorkspace.get(workspaceId)?.get(id);
    if (!row) throw new Error(`no item ${id}`);
    row.value = value;
    return value;
  }
  delete(workspaceId: string, id: string): boolean {
    return this.#byWorkspace.get(workspaceId)?.delete(id) ?? false;
  }
  page(workspaceId: string, afterSeq: number | undefined, limit: number, filter?: (item: T) => boolean): TablePage<T> {
    const items: T[] = [];
    let lastSeq: number | undefined;
    // A Map iterates in insertion order, which is sequence order: updates keep the slot.
    for (const row of this.#byWorkspace.get(workspaceId)?.values() ?? []) {
      if (afterSeq !== undefined && row.seq <= afterSeq) continue;
      if (filter && !filter(row.value)) continue;
      if (items.length === limit) return { items, lastSeq, more: true };
      items.push(row.value);
      lastSeq = row.seq;
    }
    return { items, lastSeq, more: false };
  }
  all(workspaceId: string, filter?: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (const row of this.#byWorkspace.get(workspaceId)?.values() ?? []) {
      if (!filter || filter(row.value)) out.push(row.value);
    }
    return out;
  }
}

/**
 * The in-memory {@link PortariumStore}: state lives as long as the process, each bounded
 * table at most its {@link TableRetention} per workspace (the oldest evictable items are
 * forgotten first; with none evictable an insert is a 507 problem).
 */
export class MemoryPortariumStore implements PortariumStore {
  /** The workspace list, kept under the global workspace key `""`. */
  readonly workspaces = new MemoryTable<WorkspaceRecord>();
  /** Workflow definitions per workspace. */
  readonly workflows = new MemoryTable<WorkflowRecord>();
  /** Workflow runs per workspace (finished ones may be evicted). */
  readonly runs: MemoryTable<RunRecord>;
  /** Approvals per workspace (decided ones may be evicted). */
  readonly approvals: MemoryTable<ApprovalRecord>;
  /** Registered machines per workspace. */
  readonly machines = new MemoryTable<MachineRecord>();
  /** Registered agents per workspace. */
  readonly agents = new MemoryTable<AgentRecord>();
  /** Evidence entries per workspace, in chain order (the oldest may be evicted). */
  readonly evidence: MemoryTable<EvidenceRecord>;
  /** Machine invocations per workspace (finished ones may be evicted). */
  readonly invocations: MemoryTable<InvocationRecord>;

  constructor(retention: PortariumRetention = {}) {
    this.runs = new MemoryTable(retention.runs);
    this.approvals = new MemoryTable(retention.approvals);
    this.evidence = new MemoryTable(retention.evidence);
    this.invocations = new MemoryTable(retention.invocations);
  }
}

/** The workspace key under which the global workspace list is kept. */
export const GLOBAL = "";
