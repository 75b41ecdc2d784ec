/**
 * `@baton/orca`: the typed client for the ORCA orchestrator. Runs are handles: start one,
 * submit tasks with usage hints, follow its events, fetch results and watch the budget.
 *
 * @packageDocumentation
 */

export * from "@baton/core/errors";
export { type BudgetLimits, type BudgetSnapshot, type BudgetUsage, BudgetView } from "./budget.js";
export {
  type BudgetInput,
  DEFAULT_ORCA_ADDRESS,
  ORCA_ADDRESS_ENV,
  OrcaClient,
  type OrcaClientOptions,
  Runs,
  type StartRunInput,
} from "./client.js";
export {
  buildEnvelope,
  type EventsOptions,
  PROTOCOL_VERSION,
  type ResultOptions,
  type RunEvent,
  type RunEventKind,
  RunHandle,
  type RunResult,
  type SubmittedTask,
  type TaskInput,
  type UsageInput,
} from "./run-handle.js";
