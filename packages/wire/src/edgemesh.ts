/**
 * `@baton/wire/edgemesh`: the generated edgemesh wire types and service descriptor
 * (`edgemesh.OrchestratorService`), for use with `@connectrpc/connect` directly or on a server.
 *
 * @packageDocumentation
 */

export * from "./edgemesh-cost.js";
export * from "./gen/edgemesh/edgemesh/orchestrator_pb.js";
