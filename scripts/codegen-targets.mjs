// Every generated output of the repo: one entry per buf module or OpenAPI document.
// scripts/generate.mjs produces them and scripts/check-generated.mjs checks them. All of it
// lands in @baton/wire (packages/wire/src/gen/<system>), which clients and server share.

/** buf modules: proto/<module> generates into `out` (buf.gen.yaml's `out: .` under `-o out`). */
export const bufTargets = [
  { module: "proto/orca", out: "packages/wire/src/gen/orca" },
  { module: "proto/baaaht", out: "packages/wire/src/gen/baaaht" },
  { module: "proto/google-rpc", out: "packages/wire/src/gen/google-rpc" },
  { module: "proto/stratavore", out: "packages/wire/src/gen/stratavore" },
  { module: "proto/edgemesh", out: "packages/wire/src/gen/edgemesh" },
  { module: "proto/grpc-reflection", out: "packages/wire/src/gen/grpc-reflection" },
];

/**
 * OpenAPI documents: openapi-typescript output files (`out`), and the document itself as a
 * TypeScript module (`document`) for code that validates against it at runtime.
 */
export const openapiTargets = [
  {
    spec: "openapi/portarium-control-plane.v1.yaml",
    out: "packages/wire/src/gen/portarium/portarium-control-plane.v1.ts",
    document: "packages/wire/src/gen/portarium/openapi-document.ts",
  },
];

/** Every directory of generated code, and only generated code: the drift check empties them. */
export const generatedDirs = [
  ...bufTargets.map((t) => t.out),
  ...new Set(openapiTargets.map((t) => t.out.replace(/\/[^/]+$/, ""))),
];
