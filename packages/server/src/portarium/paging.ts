import { problems } from "./http.js";
import type { Table } from "./store.js";

/** The paging parameters of a list operation. */
export interface PageQuery {
  /** Most items in the page (the document's default is 50). */
  limit?: number;
  /** Opaque position from a previous page's `nextCursor`. */
  cursor?: string;
}

/** One page of a list, as list operations answer it. */
export interface ListPage<T> {
  /** The items, oldest first. */
  items: T[];
  /** Where the next page starts; absent on the last page. */
  nextCursor?: string;
}

/** Default page size, as the document declares it. */
const DEFAULT_LIMIT = 50;

/** Encodes a page position as an opaque cursor bound to one list. */
export function encodeCursor(list: string, lastSeq: number): string {
  return Buffer.from(JSON.stringify({ l: list, s: lastSeq })).toString("base64url");
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same list.
 *
 * @throws {HttpProblem} 400 (naming `query.cursor`) when the cursor is not one of ours,
 *   belongs to another list, or holds a position no list has (negative, fractional, unsafe).
 */
export function decodeCursor(list: string, cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { l?: unknown; s?: unknown };
    if (v.l === list && typeof v.s === "number" && Number.isSafeInteger(v.s) && v.s >= 0) return v.s;
  } catch {
    // fall through: not JSON, so not ours
  }
  throw problems.invalid("query parameter cursor is not a cursor this list returned", {
    "query.cursor": ["is not a cursor this list returned"],
  });
}

/**
 * One page of a table's items of a workspace that pass `filter`. `list` names the list (and
 * its filter) so that a cursor of one list is refused by another.
 *
 * @throws {HttpProblem} 400 for a cursor this list did not return.
 */
export function pageOf<T>(
  table: Table<T>,
  workspaceId: string,
  list: string,
  query: PageQuery,
  filter?: (item: T) => boolean,
): ListPage<T> {
  const page = table.page(workspaceId, decodeCursor(list, query.cursor), query.limit ?? DEFAULT_LIMIT, filter);
  const out: ListPage<T> = { items: page.items };
  if (page.more && page.lastSeq !== undefined) out.nextCursor = encodeCursor(list, page.lastSeq);
  return out;
}
