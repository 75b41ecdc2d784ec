import type { AnyVerb, SystemName } from "./spec.js";
import { BAAAHT_VERBS } from "./verbs-baaaht.js";
import { EDGEMESH_VERBS } from "./verbs-edgemesh.js";
import { ORCA_VERBS } from "./verbs-orca.js";
import { PORTARIUM_VERBS } from "./verbs-portarium.js";
import { STRATAVORE_VERBS } from "./verbs-stratavore.js";

/**
 * Every verb `baton` knows: the one table parsing, dispatch and every `--help` text are
 * made from, so help cannot drift from what the command line accepts.
 */
export const VERBS: readonly AnyVerb[] = [
  ...ORCA_VERBS,
  ...BAAAHT_VERBS,
  ...PORTARIUM_VERBS,
  ...STRATAVORE_VERBS,
  ...EDGEMESH_VERBS,
];

/** The verbs of one system. */
export function verbsOf(system: SystemName): AnyVerb[] {
  return VERBS.filter((v) => v.system === system);
}

/** A verb's name as typed: `orca start`, `baaaht sessions list`. */
export function verbName(verb: AnyVerb): string {
  return [verb.system, ...verb.words].join(" ");
}
