import { invalid, notFound } from "./errors.js";

/**
 * The record `id` names in `records`.
 *
 * @param field the request field that carries the id, for the error when it is empty.
 * @param what what the record is, for the error when there is none.
 * @throws {ConnectError} INVALID_ARGUMENT `<field> is required` for an empty id, NOT_FOUND
 *   `<what> <id> not found` for an unknown one.
 * @example
 * const rec = lookup(store.sessions, req.sessionId, "session_id", "session");
 */
export function lookup<T>(records: ReadonlyMap<string, T>, id: string, field: string, what: string): T {
  if (!id) throw invalid(`${field} is required`);
  const rec = records.get(id);
  if (rec === undefined) throw notFound(`${what} ${id} not found`);
  return rec;
}
