/**
 * `@baton/wire/orca`: the generated ORCA wire types and service descriptor (`orca.v1`),
 * for use with `@connectrpc/connect` directly or on a server.
 *
 * @packageDocumentation
 */
export * from "./gen/orca/orca/v1/orca_v1_pb.js";
