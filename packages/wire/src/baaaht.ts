/**
 * `@baton/wire/baaaht`: the generated baaaht wire types and service descriptors:
 * `common.v1`, `orchestrator.v1`, `agent.v1` and `gateway.v1` at the top level;
 * `grpc.health.v1`, `llm.v1` and `tool.v1` as namespaces (their names clash with the
 * others, e.g. `HealthCheckResponse`).
 *
 * @packageDocumentation
 */
export * from "./gen/baaaht/agent/v1/agent_pb.js";
export * from "./gen/baaaht/common/v1/common_pb.js";
export * from "./gen/baaaht/gateway/v1/gateway_pb.js";
export * as grpcHealth from "./gen/baaaht/grpc/health/v1/health_pb.js";
export * as llm from "./gen/baaaht/llm/v1/llm_pb.js";
export * from "./gen/baaaht/orchestrator/v1/orchestrator_pb.js";
export * as tool from "./gen/baaaht/tool/v1/tool_pb.js";
