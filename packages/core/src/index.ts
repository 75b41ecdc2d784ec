/**
 * `@baton/core`: the connection layer every Baton client uses. Addresses (TCP and Unix
 * sockets), protocols (gRPC, Connect, gRPC-Web), TLS and mutual TLS, bearer auth,
 * deadlines, retries, one error hierarchy, resumable streams and pagination.
 *
 * This is the Node entry; bundlers resolving the `browser` condition get `browser.ts`,
 * the same names over `fetch`.
 *
 * @packageDocumentation
 */
export * from "./address.js";
export { isBodyInMemory } from "./body-in-memory.js";
export { type BufferedIterator, takeBuffered, takeFrom } from "./buffered.js";
export * from "./call.js";
export * from "./client.js";
export * from "./connection.js";
export * from "./connection-base.js";
export * from "./deadline.js";
export * from "./errors.js";
export * from "./exchange.js";
export * from "./grpc-transport.js";
export * from "./idle-timer.js";
export * from "./logger.js";
export * from "./pagination.js";
export * from "./raw-client.js";
export * from "./resumable-stream.js";
export * from "./retry.js";
export * from "./timers.js";
export * from "./wire-int.js";
