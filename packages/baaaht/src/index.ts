/**
 * `@baton/baaaht`: the typed client for the baaaht orchestrator.
 *
 * @packageDocumentation
 */
export { PushQueue, type PushQueueOptions } from "./push-queue.js";
