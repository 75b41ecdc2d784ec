/**
 * `@baton/edgemesh/wire`: the generated edgemesh wire types and service descriptor, re-exported
 * unchanged from `@baton/wire/edgemesh`.
 *
 * @packageDocumentation
 */
export * from "@baton/wire/edgemesh";
