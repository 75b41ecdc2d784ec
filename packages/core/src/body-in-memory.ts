const inMemory = new WeakSet<Response>();

/**
 * Marks a response whose whole body the Node `Connection.fetch` has read into memory.
 *
 * @internal
 */
export function markBodyInMemory(response: Response): void {
  inMemory.add(response);
}

/**
 * Whether `response` came from a Node `Connection.fetch` that already read its whole body
 * into memory (a body of known length up to 1 MiB): reading it cannot fail mid-way, so a
 * caller that buffers responses to retry cut-off bodies can hand this one on as it is.
 * Always false in a browser, where responses come from the page's `fetch`.
 */
export function isBodyInMemory(response: Response): boolean {
  return inMemory.has(response);
}
