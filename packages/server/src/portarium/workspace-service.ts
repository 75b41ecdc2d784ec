import { type Clock, isoNow } from "../clock.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import { GLOBAL, type PortariumStore, type WorkspaceRecord } from "./store.js";

/**
 * Workspaces: created for every workspace a service account names; a token sees only the
 * workspace it is scoped to.
 */
export class WorkspaceService {
  readonly #store: PortariumStore;
  readonly #clock: Clock;

  constructor(store: PortariumStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Creates a workspace unless it exists. */
  ensure(workspaceId: string): void {
    if (this.#store.workspaces.get(GLOBAL, workspaceId)) return;
    this.#store.workspaces.insert(GLOBAL, workspaceId, {
      workspaceId,
      name: workspaceId,
      createdAtIso: isoNow(this.#clock),
    });
  }

  /** The workspaces a token scoped to `visible` sees: that one. @throws {HttpProblem} 400 for a bad cursor. */
  list(visible: string | undefined, page: PageQuery): ListPage<WorkspaceRecord> {
    return pageOf(this.#store.workspaces, GLOBAL, "workspaces", page, (w) => w.workspaceId === visible);
  }

  /** @throws {HttpProblem} 404 for an unknown workspace. */
  get(workspaceId: string): WorkspaceRecord {
    return mustFind(this.#store.workspaces, GLOBAL, workspaceId, "workspace");
  }
}
