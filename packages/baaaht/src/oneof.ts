import type { Classified } from "./duplex.js";

/** A oneof payload as protobuf-es types it. */
export interface OneofPayload {
  case: string | undefined;
  value?: unknown;
}

/**
 * Turns stream frames into items named after their oneof case, as every baaaht stream
 * item is (`{ kind: "output", output: value }`): heartbeats are "heartbeat", cases not in
 * `kinds` are ignored.
 */
export function oneofItems<Item extends { kind: string }>(
  kinds: readonly Item["kind"][],
): (payload: OneofPayload) => Classified<Item> {
  const wanted = new Set<string>(kinds);
  return (payload) => {
    if (payload.case === "heartbeat") return "heartbeat";
    if (payload.case === undefined || !wanted.has(payload.case)) return undefined;
    // The case names the field: the shape Item declares for that kind.
    return { item: { kind: payload.case, [payload.case]: payload.value } as unknown as Item };
  };
}
