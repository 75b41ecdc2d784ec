/**
 * `@baton/wire/portarium`: the Portarium OpenAPI document as data, its generated types,
 * and the evidence hash-chain rules. Servers validate against exactly this document.
 *
 * @packageDocumentation
 */
export { canonicalJson, type EvidenceChainProblem, evidenceEntryHash, verifyEvidenceChain } from "./evidence-chain.js";
export { openapiDocument } from "./gen/portarium/openapi-document.js";
export type { components, operations, paths } from "./gen/portarium/portarium-control-plane.v1.js";
