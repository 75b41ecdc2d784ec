#!/usr/bin/env node
// Validates the Portarium OpenAPI document as OpenAPI 3.1 and checks that it
// declares every operationId of the Portarium REST contract.
//
// Usage: node scripts/validate-openapi.mjs [path/to/document.yaml]
// Exits 1 on any validation error or missing operationId.

import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compileErrors, parse, validate } from "@readme/openapi-parser";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const file = resolve(repoRoot, process.argv[2] ?? "openapi/portarium-control-plane.v1.yaml");
const contractFile = resolve(repoRoot, "../shared/contracts/portarium.md");
const shown = relative(process.cwd(), file) || file;

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** operationIds of the (undereferenced) document, in path order. */
function operationIds(doc) {
  const ids = [];
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item?.[method];
      if (op) ids.push(op.operationId);
    }
  }
  return ids;
}

/**
 * operationIds named by the contract markdown: headings of the form
 * `### listRuns: GET /v1/...`.
 */
function contractOperationIds(markdown) {
  const re = /^#{2,4}\s+`?([A-Za-z][A-Za-z0-9_]*)`?\s*:\s*(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE)\s+\S+/gm;
  return [...markdown.matchAll(re)].map((m) => m[1]);
}

let failed = false;

if (!existsSync(file)) {
  console.error(`openapi: ${shown} not found`);
  process.exit(1);
}

let doc;
try {
  // parse() reads one file without dereferencing, so the document is counted as written.
  doc = await parse(file);
} catch (err) {
  console.error(`openapi: ${shown} cannot be parsed: ${err?.message ?? err}`);
  process.exit(1);
}

if (typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.1.")) {
  console.error(`openapi: ${shown} declares openapi ${JSON.stringify(doc.openapi)}, expected 3.1.x`);
  failed = true;
}

let result;
try {
  result = await validate(file);
} catch (err) {
  console.error(`openapi: ${shown} cannot be validated: ${err?.message ?? err}`);
  process.exit(1);
}

const ids = operationIds(doc);
if (result.valid) {
  if (result.warnings?.length) {
    console.warn(`openapi: ${shown} warnings:\n${compileErrors(result)}`);
  }
  if (!failed) console.log(`openapi: ${shown} valid (${ids.length} operations)`);
} else {
  console.error(`openapi: ${shown} invalid\n${compileErrors(result)}`);
  failed = true;
}

const missingIds = ids.filter((id) => typeof id !== "string" || id.length === 0);
if (missingIds.length > 0) {
  console.error(`openapi: ${missingIds.length} operation(s) without an operationId`);
  failed = true;
}

if (existsSync(contractFile)) {
  const expected = contractOperationIds(readFileSync(contractFile, "utf8"));
  if (expected.length === 0) {
    console.error(`contract: no operationIds found in ${contractFile}; has its format changed?`);
    failed = true;
  } else {
    const have = new Set(ids);
    const missing = expected.filter((id) => !have.has(id));
    if (missing.length > 0) {
      console.error(`contract: ${missing.length} operationId(s) missing from ${shown}: ${missing.join(", ")}`);
      failed = true;
    } else {
      console.log(`contract: all ${expected.length} operationIds of portarium.md present`);
    }
  }
} else {
  console.log(`contract: ${contractFile} not found; skipping the operationId check`);
}

process.exit(failed ? 1 : 0);
