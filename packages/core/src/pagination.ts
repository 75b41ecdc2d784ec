import { ProtocolError } from "./errors.js";

/** One page of a cursor-paginated list. */
export interface Page<T> {
  /** The items of this page. */
  items: T[];
  /** The cursor of the next page; absent on the last page. */
  nextCursor?: string | undefined;
}

/** Fetches the page that starts at `cursor` (`undefined`: the first page). */
export type PageFetcher<T> = (cursor: string | undefined) => Promise<Page<T>>;

/**
 * A list result that is both awaitable and iterable:
 * `await list` gives the first page, `for await (const item of list)` follows `nextCursor`
 * through every page, and `list.pages()` yields page by page (for UIs).
 *
 * @example
 * ```ts
 * const first = await portarium.runs.list({ limit: 20 });
 * for await (const run of portarium.runs.list()) console.log(run.runId);
 * ```
 */
export class PagedList<T> implements AsyncIterable<T>, Promise<Page<T>> {
  readonly #fetch: PageFetcher<T>;
  readonly #start: string | undefined;
  #first: Promise<Page<T>> | undefined;

  /** @param fetchPage fetches one page; `startCursor` is where the list begins. */
  constructor(fetchPage: PageFetcher<T>, startCursor?: string) {
    this.#fetch = fetchPage;
    this.#start = startCursor;
  }

  /**
   * A list the server answers in one response (it does not page): one page holding every
   * item, with the same awaitable and iterable shape as a paged one.
   *
   * @example
   * ```ts
   * return PagedList.single(async () => (await raw.listSessions({})).sessions);
   * ```
   */
  static single<T>(fetchAll: () => Promise<T[]>): PagedList<T> {
    return new PagedList(async () => ({ items: await fetchAll() }));
  }

  /** `"PagedList"`, so it prints and tags like the Promise it also is. */
  get [Symbol.toStringTag](): string {
    return "PagedList";
  }

  /** Resolves to the first page (so `await list` works). */
  // biome-ignore lint/suspicious/noThenProperty: a PagedList is deliberately awaitable.
  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    // A fetcher that throws synchronously still gives a rejected promise, never a throw.
    this.#first ??= Promise.resolve().then(() => this.#fetch(this.#start));
    return this.#first.then(onFulfilled, onRejected);
  }

  /** Handles a failure of the first page, as `Promise.prototype.catch` does. */
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.then(undefined, onRejected);
  }

  /** Runs `onFinally` once the first page settled, as `Promise.prototype.finally` does. */
  finally(onFinally?: (() => void) | null): Promise<Page<T>> {
    return this.then().finally(onFinally);
  }

  /**
   * Every page in turn, following `nextCursor`.
   *
   * @throws {ProtocolError} when the server returns a cursor it already returned (a loop).
   */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    const visited = new Set<string>();
    let cursor = this.#start;
    for (;;) {
      const page = await this.#fetch(cursor);
      yield page;
      if (!page.nextCursor) return;
      if (visited.has(page.nextCursor))
        throw new ProtocolError(`pagination loop: cursor ${page.nextCursor} was returned twice`);
      visited.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  /** Every item of every page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** Collects every item into an array (at most `max`, default unlimited). */
  async toArray(max = Number.POSITIVE_INFINITY): Promise<T[]> {
    const out: T[] = [];
    if (max <= 0) return out;
    for await (const item of this) {
      out.push(item);
      if (out.length >= max) break;
    }
    return out;
  }
}
