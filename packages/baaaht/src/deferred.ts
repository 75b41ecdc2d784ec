/**
 * An `AsyncIterable` that calls `make` each time it is iterated, so that input validation
 * (and anything else `make` throws) fails the iteration instead of the call that returned
 * the iterable.
 */
export function deferred<T>(make: () => AsyncIterable<T>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      yield* make();
    },
  };
}
