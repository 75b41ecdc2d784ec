import { problems } from "./http.js";
import type { Table } from "./store.js";

/**
 * The item `id` of a workspace's table.
 *
 * @throws {HttpProblem} 404 naming `what` when there is none.
 * @example
 * const run = mustFind(store.runs, ws, runId, "run"); // 404 "run run-9 not found"
 */
export function mustFind<T>(table: Table<T>, workspaceId: string, id: string | undefined, what: string): T {
  const item = id === undefined ? undefined : table.get(workspaceId, id);
  if (item === undefined) throw problems.notFound(`${what} ${id}`);
  return item;
}
