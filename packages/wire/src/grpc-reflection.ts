/**
 * `@baton/wire/grpc-reflection`: the generated standard gRPC server reflection protocol
 * that baton-server serves, as two namespaces with the same messages: `v1`
 * (`grpc.reflection.v1`) and `v1alpha` (`grpc.reflection.v1alpha`, which older tools ask
 * for first).
 *
 * @packageDocumentation
 */
export * as v1 from "./gen/grpc-reflection/grpc/reflection/v1/reflection_pb.js";
export * as v1alpha from "./gen/grpc-reflection/grpc/reflection/v1alpha/reflection_pb.js";
