/**
 * `@baton/core` in a browser (the `browser` export condition): the names of the Node entry,
 * with a {@link Connection} over `fetch` (Connect and gRPC-Web) and no `node:` module.
 * Unix sockets, the `grpc` protocol, TLS settings (custom CAs, mutual TLS) and socket
 * limits stay Node-only: {@link BrowserConnectionOptions} has no place for them, and
 * the connection refuses them.
 *
 * @packageDocumentation
 */
export * from "./address.js";
export { isBodyInMemory } from "./body-in-memory.js";
export { type BufferedIterator, takeBuffered, takeFrom } from "./buffered.js";
export * from "./call.js";
export type { FetchLike, Pem, Protocol, TlsOptions, TokenProvider } from "./connection.js";
export * from "./connection-base.js";
export {
  BatonClient,
  type BrowserConnectionOptions,
  /** In the browser build, the connection options are the {@link BrowserConnectionOptions}. */
  type BrowserConnectionOptions as ConnectionOptions,
  type ClientOptions,
  Connection,
  resolveConnection,
} from "./connection-browser.js";
export * from "./deadline.js";
export * from "./errors.js";
export * from "./exchange.js";
export * from "./idle-timer.js";
export * from "./logger.js";
export * from "./pagination.js";
export * from "./raw-client.js";
export * from "./resumable-stream.js";
export * from "./retry.js";
export * from "./timers.js";
export * from "./wire-int.js";
