/**
 * `@baton/portarium`: typed client for the Portarium control plane REST API.
 * `new PortariumClient(options)` gives resources for workspaces, workflows, runs (with
 * handles), approvals, evidence, machines (with invocation handles and event streams),
 * agents and agent actions, with bearer/client-credentials auth, correlation ids, safe
 * retries, problem+json errors and cursor pagination; `portarium.raw` is the openapi-fetch
 * client. Every Baton error class is re-exported.
 *
 * @packageDocumentation
 */
export * from "@baton/core/errors";
export * from "./agent-actions.js";
export * from "./agents.js";
export * from "./approvals.js";
export {
  type ClientCredentials,
  type ClientCredentialsTokenSourceOptions,
  clientCredentialsTokenSource,
  type PortariumTokenProvider,
  providerTokenSource,
  staticTokenSource,
  type TokenRequest,
  type TokenSource,
} from "./auth.js";
export type { ListOptions, PortariumCallOptions } from "./call.js";
export * from "./client.js";
export * from "./correlation-id.js";
export * from "./errors.js";
export * from "./evidence.js";
export * from "./invocation-handle.js";
export {
  type InvocationStreamOptions,
  type MachineInvocation,
  type MachineInvocationEvent,
  TERMINAL_INVOCATION_STATUSES,
} from "./invocation-stream.js";
export * from "./machines.js";
export type { PortariumRaw } from "./raw.js";
export * from "./run-handle.js";
export * from "./runs.js";
export * from "./schema.js";
export * from "./sse.js";
export { createTransport, type TransportOptions, workspaceOfUrl } from "./transport.js";
export * from "./workflows.js";
export * from "./workspaces.js";
