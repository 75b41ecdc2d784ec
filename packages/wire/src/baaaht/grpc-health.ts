/**
 * `@baton/wire/baaaht/grpc-health`: the generated standard gRPC health protocol
 * (`grpc.health.v1`) that baaaht serves, by its own names. `@baton/wire/baaaht` has it as
 * the `grpcHealth` namespace, because names like `HealthCheckResponse` clash there.
 *
 * @packageDocumentation
 */
export * from "../gen/baaaht/grpc/health/v1/health_pb.js";
