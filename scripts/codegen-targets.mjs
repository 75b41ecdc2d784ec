// Every generated output of the repo: one entry per buf module or OpenAPI document.
// scripts/generate.mjs produces them and scripts/check-generated.mjs checks them.

/** buf modules: proto/<module> generates into packages/<pkg>/src/gen. */
export const bufTargets = [{ module: "proto/orca", pkg: "packages/orca" }];

/** OpenAPI documents: openapi-typescript output files. */
export const openapiTargets = [];

/** Every directory that holds generated code (for the drift check). */
export const generatedDirs = [
  ...bufTargets.map((t) => `${t.pkg}/src/gen`),
  ...openapiTargets.map((t) => t.out.replace(/\/[^/]+$/, "")),
];
