/**
 * `@baton/portarium/schema`: the Portarium OpenAPI document as data, its generated types,
 * and the evidence hash-chain rules. Servers validate against exactly this document. The
 * same module as `@baton/wire/portarium`.
 *
 * @packageDocumentation
 */
export * from "@baton/wire/portarium";
