import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { type Code, ConnectError } from "@connectrpc/connect";

/**
 * A ConnectError carrying one `google.rpc.ErrorInfo` detail, so clients can tell refusals
 * apart by `reason` instead of reading the message.
 */
export function errorWithInfo(
  message: string,
  code: Code,
  info: { domain: string; reason: string; metadata?: Record<string, string> },
): ConnectError {
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: { reason: info.reason, domain: info.domain, metadata: info.metadata ?? {} } },
  ]);
}
