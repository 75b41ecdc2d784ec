/**
 * `@baton/stratavore/wire`: the generated `stratavore.v1` types and service descriptors,
 * re-exported unchanged from `@baton/wire/stratavore`.
 *
 * @packageDocumentation
 */
export * from "@baton/wire/stratavore";
