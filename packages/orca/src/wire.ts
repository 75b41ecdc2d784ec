/**
 * The generated ORCA wire types and service descriptor (`orca.v1`), for use with
 * `@connectrpc/connect` directly or on a server. The same module as `@baton/wire/orca`.
 *
 * @packageDocumentation
 */
export * from "@baton/wire/orca";
