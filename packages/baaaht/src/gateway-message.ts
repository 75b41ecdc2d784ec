import { GatewayMessageRole, type GatewayMessageSchema } from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";

/** A message to the gateway: the text (a user message), or the wire shape. */
export type GatewayMessageInput = string | MessageInitShape<typeof GatewayMessageSchema>;

let counter = 0;

/**
 * The wire message for a {@link GatewayMessageInput}, with an id: the caller's, or a new one
 * (the reply's chunks carry it, so the client must know it before sending).
 */
export function toGatewayMessage(input: GatewayMessageInput): MessageInitShape<typeof GatewayMessageSchema> & {
  id: string;
} {
  const base = typeof input === "string" ? { role: GatewayMessageRole.USER, content: input } : input;
  const id =
    base.id || `cmsg-${Date.now().toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  return { ...base, id };
}
