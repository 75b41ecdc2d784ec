// Every generated output of the repo: one entry per buf module or OpenAPI document.
// scripts/generate.mjs produces them and scripts/check-generated.mjs checks them.

/** buf modules: proto/<module> generates into packages/<pkg>/src/gen. */
export const bufTargets = [
  { module: "proto/orca", pkg: "packages/orca" },
  { module: "proto/baaaht", pkg: "packages/baaaht" },
];

/**
 * OpenAPI documents: openapi-typescript output files (`out`), and the document itself as a
 * TypeScript module (`document`) for code that validates against it at runtime.
 */
export const openapiTargets = [
  {
    spec: "openapi/portarium-control-plane.v1.yaml",
    out: "packages/portarium/src/gen/portarium-control-plane.v1.ts",
    document: "packages/portarium/src/gen/openapi-document.ts",
  },
];

/** Every directory of generated code, and only generated code: the drift check empties them. */
export const generatedDirs = [
  ...bufTargets.map((t) => `${t.pkg}/src/gen`),
  ...openapiTargets.map((t) => t.out.replace(/\/[^/]+$/, "")),
];
