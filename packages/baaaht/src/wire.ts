/**
 * The generated baaaht wire types and service descriptors: `common.v1`, `orchestrator.v1`,
 * `agent.v1` and `gateway.v1` at the top level; `grpc.health.v1`, `llm.v1` and `tool.v1`
 * as namespaces (their names clash with the others, e.g. `HealthCheckResponse`). The same
 * module as `@baton/wire/baaaht`.
 *
 * @packageDocumentation
 */
export * from "@baton/wire/baaaht";
