import type { StreamCallOptions } from "@baton/core";
import { type GatewayEvent, GatewayEventType, type GatewayService } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import { defined, type EnumInput, enumValue } from "./input.js";
import type { StreamSettings } from "./stream-settings.js";
import { type TimeWindow, timedSubscription } from "./timed-subscription.js";

/** What `gateway.events()` takes. */
export interface GatewayEventsInput extends TimeWindow {
  /** Only events of this gateway session. Default: every session. */
  sessionId?: string;
  /** Only this event type (`"SESSION_CREATED"`... or the enum value). */
  type?: EnumInput<typeof GatewayEventType>;
  /** Only events carrying all these labels. */
  labels?: Record<string, string>;
}

/**
 * SubscribeToEvents as a resumable `AsyncIterable`: `gateway.events()` and
 * `GatewaySessionHandle.events()`.
 */
export function gatewayEvents(
  raw: Client<typeof GatewayService>,
  settings: StreamSettings,
  input: GatewayEventsInput,
  options: StreamCallOptions,
): AsyncIterable<GatewayEvent> {
  const { since, until, sessionId, type, labels } = input;
  return timedSubscription(settings, { since, until }, options, () => {
    const typeValue = enumValue(GatewayEventType, type, "gateway event type");
    const filter = defined({ type: typeValue, labels });
    return (range, call) =>
      raw.subscribeToEvents({ sessionId: sessionId ?? "", filter: { ...filter, ...range } }, call);
  });
}
