/**
 * `@baton/stratavore`: the typed client for the Stratavore daemon.
 *
 * @packageDocumentation
 */
export * from "@baton/core/errors";
export {
  ComponentType,
  EventType,
  HealthStatus,
  ProjectStatus,
  RunnerStatus,
  SessionStatus,
  TranscriptFormat,
} from "@baton/wire/stratavore";
export * from "./client.js";
export * from "./daemon.js";
export { stratavoreErrorInfo } from "./errors.js";
export type { EventFilter, RunnerEventPayload, StratavoreEvent } from "./events.js";
export * from "./projects.js";
export { RunnerHandle } from "./runner-handle.js";
export * from "./runners.js";
export * from "./sessions.js";
