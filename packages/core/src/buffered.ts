// The synchronous side door of Baton's stream iterators. A server stream's messages arrive
// in batches (many in one HTTP/2 DATA chunk), and each layer on top (the raw client, the
// resumable stream, a client's mapping) is an async iterator. Asked through `next()` alone,
// every layer costs a promise and a microtask per message although the message was already
// in memory. A layer that holds a message hands it out here, at once; a layer on top takes
// from the one below while it can, and uses `next()` only when nothing is held, so a message
// that is already in costs the consumer's `for await` one promise, however many layers.

/**
 * The method of an async iterator that hands out, synchronously, the next item it already
 * holds. Registered with `Symbol.for`, so two copies of `@baton/core` in one app agree.
 *
 * @internal
 */
export const takeBuffered: unique symbol = Symbol.for("baton.takeBuffered") as never;

/**
 * An async iterator that can hand out an item it already holds without a promise.
 *
 * @internal
 */
export interface BufferedIterator<T> extends AsyncIterator<T> {
  /**
   * The next item, when it is already here: exactly what the next `next()` would resolve
   * with. `undefined` when there is none, or when what comes next is the end or a failure:
   * the caller then calls `next()`, which delivers it. Never called while a `next()` is in
   * flight; taking an item is as much a step of the iteration as `next()` is.
   */
  [takeBuffered](): IteratorYieldResult<T> | undefined;
}

/**
 * The next item `it` already holds, if it is a {@link BufferedIterator} with one; otherwise
 * `undefined` (call `it.next()`).
 *
 * @internal
 */
export function takeFrom<T>(it: AsyncIterator<T>): IteratorYieldResult<T> | undefined {
  const take = (it as Partial<BufferedIterator<T>>)[takeBuffered];
  return take === undefined ? undefined : take.call(it);
}
