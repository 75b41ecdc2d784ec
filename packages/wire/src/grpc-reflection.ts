/**
 * `@baton/wire/grpc-reflection`: the generated standard gRPC server reflection protocol
 * that baton-server serves: `v1` (`grpc.reflection.v1`: the service and its messages) and
 * `v1alpha` (`grpc.reflection.v1alpha.ServerReflection`, which older tools ask for first,
 * taking and answering v1's messages: the same bytes on the wire).
 *
 * @packageDocumentation
 */
export * as v1 from "./gen/grpc-reflection/grpc/reflection/v1/reflection_pb.js";
export * as v1alpha from "./gen/grpc-reflection/grpc/reflection/v1alpha/reflection_pb.js";
