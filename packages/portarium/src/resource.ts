import { PagedList } from "@baton/core";
import {
  call,
  callEmpty,
  type FetchPage,
  type ListOptions,
  type PortariumCallOptions,
  pageQuery,
  type Scope,
  type Send,
} from "./call.js";

/**
 * The base of every Portarium resource: calls go through the one call helper (workspace,
 * deadline, headers, idempotency key, errors), lists through {@link PagedList}. Even these
 * helpers answer a rejection, never a throw, when called without arguments.
 */
export abstract class Resource {
  /** What the client's resources share. */
  protected readonly scope: Scope;

  /** @internal Resources are made by `PortariumClient`. */
  constructor(scope: Scope) {
    this.scope = scope;
  }

  /** A call whose response has a body. */
  protected call<T>(options: PortariumCallOptions = {}, send: Send<T>): Promise<T> {
    return call(this.scope, options, send);
  }

  /** A call whose success has no body. */
  protected callEmpty(options: PortariumCallOptions = {}, send: Send<unknown>): Promise<void> {
    return callEmpty(this.scope, options, send);
  }

  /** A list: awaitable (first page) and `for await`-able (every item); failures reject, never throw. */
  protected paged<T>(options: ListOptions = {}, fetchPage: FetchPage<T>): PagedList<T> {
    return new PagedList(
      (cursor) => call(this.scope, options, (r) => fetchPage(r, pageQuery(options, cursor))),
      options.cursor,
    );
  }
}
