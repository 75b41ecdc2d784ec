/**
 * `@baton/cli`: the `baton` command line, on the Baton clients. `main(argv, io)` runs it
 * (the `baton` bin calls it with the process's streams); the verb table, the table renderer
 * and the exit codes are exported for tools and tests.
 *
 * @packageDocumentation
 */
export { type ErrorReport, EXIT, errorReport, exitCodeOf, formatError, UsageError } from "./exit-codes.js";
export { EXIT_CODE_HELP, mainHelp, systemHelp, verbHelp } from "./help.js";
export { plain, readJsonArg } from "./input.js";
export { main, version } from "./main.js";
export { type Io, Output, type OutputMode, Progress } from "./output.js";
export type { AnyVerb, ArgSpec, Clients, FlagSpec, FlagSpecs, SystemName, Verb, VerbContext } from "./spec.js";
export { GLOBAL_FLAGS, SYSTEMS, type SystemSpec } from "./systems.js";
export { type Column, cellText, renderRecord, renderStreamRow, renderTable, type TableOptions } from "./table.js";
export { VERBS, verbName, verbsOf } from "./verbs.js";
