/**
 * `@baton/portarium`: typed client for the Portarium control plane REST API. The
 * openapi-fetch client (`portarium.rest`) plus resources for workspaces, runs, approvals,
 * evidence, machines, agents, workflows and agent actions, with bearer/client-credentials
 * auth, request ids, safe retries, problem+json errors and cursor pagination.
 *
 * @packageDocumentation
 */
export * from "./auth.js";
export * from "./client.js";
export * from "./errors.js";
export * from "./http2-fetch.js";
export * from "./schema.js";
export { createTransport, type TransportOptions, workspaceOfUrl } from "./transport.js";
