import { randomUUID } from "node:crypto";

/** A new unique id with a readable prefix, e.g. `run-6f1c…`. */
export const newId = (prefix: string): string => `${prefix}-${randomUUID()}`;
