import {
  type Event,
  type EventFilter,
  EventType,
  type GatewayEvent,
  type GatewayEventFilter,
  GatewayEventType,
} from "@baton/wire/baaaht";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { labelsMatch } from "./labels.js";

/** Whether an orchestrator event matches every set field of the filter. */
export function matchesEvent(ev: Event, f: EventFilter): boolean {
  const m = ev.metadata;
  if (f.type !== EventType.UNSPECIFIED && ev.type !== f.type) return false;
  if (f.source && ev.source !== f.source) return false;
  if (f.sessionId && m?.sessionId !== f.sessionId) return false;
  if (f.containerId && m?.containerId !== f.containerId) return false;
  if (f.priority && m?.priority !== f.priority) return false;
  if (!labelsMatch(m?.labels ?? {}, f.labels)) return false;
  const t = ev.timestamp ? timestampMs(ev.timestamp) : 0;
  if (f.startTime && t < timestampMs(f.startTime)) return false;
  if (f.endTime && t > timestampMs(f.endTime)) return false;
  return true;
}

/** Whether a gateway event matches every set field of the filter. */
export function matchesGatewayEvent(ev: GatewayEvent, f: GatewayEventFilter): boolean {
  if (f.type !== GatewayEventType.UNSPECIFIED && ev.type !== f.type) return false;
  if (f.source && ev.source !== f.source) return false;
  if (f.priority && ev.metadata?.priority !== f.priority) return false;
  if (!labelsMatch(ev.metadata?.labels ?? {}, f.labels)) return false;
  const t = ev.timestamp ? timestampMs(ev.timestamp) : 0;
  if (f.startTime && t < timestampMs(f.startTime)) return false;
  if (f.endTime && t > timestampMs(f.endTime)) return false;
  return true;
}
