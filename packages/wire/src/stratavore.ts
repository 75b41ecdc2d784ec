/**
 * `@baton/wire/stratavore`: the generated Stratavore wire types and service descriptors
 * (`stratavore.v1`: RunnerService, ProjectService, SessionService, DaemonService), for use
 * with `@connectrpc/connect` directly or on a server, and `renderTranscript`, the one way
 * client and server render a transcript as JSON, text or Markdown.
 *
 * @packageDocumentation
 */
export * from "./gen/stratavore/stratavore/v1/daemon_pb.js";
export * from "./gen/stratavore/stratavore/v1/project_pb.js";
export * from "./gen/stratavore/stratavore/v1/runner_pb.js";
export * from "./gen/stratavore/stratavore/v1/session_pb.js";
export * from "./gen/stratavore/stratavore/v1/types_pb.js";
export * from "./stratavore-transcript.js";
