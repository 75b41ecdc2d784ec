import type { PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import { Resource } from "./resource.js";

/** A workspace. */
export type Workspace = components["schemas"]["Workspace"];

/** Workspaces the caller may see. */
export class WorkspacesResource extends Resource {
  /** Lists workspaces visible to the token: awaitable (first page) and `for await`-able. */
  list(options: ListOptions = {}): PagedList<Workspace> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces", { ...r.init, params: { query } }));
  }

  /**
   * Gets a workspace (default: the call's or the client's).
   *
   * @throws {NotFoundError} when it does not exist. @throws {PermissionDeniedError} when the token is for another.
   */
  get(workspaceId?: string, options: PortariumCallOptions = {}): Promise<Workspace> {
    const opts = workspaceId === undefined ? options : { ...options, workspaceId };
    return this.call(opts, (r) => r.raw.GET("/v1/workspaces/{workspaceId}", r.at({})));
  }
}
