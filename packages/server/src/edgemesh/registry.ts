import type { DeviceInfo } from "@baton/wire/edgemesh";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { makeRoom } from "../retention.js";
import { routeOrder } from "./routing.js";

/** A registered device. */
export interface DeviceRecord {
  /** Its registration, as last received. */
  info: DeviceInfo;
  /** When it last registered (or was learned from a peer, or heartbeated), Unix ms. */
  lastSeenMs: number;
  /** It is the server itself. */
  self: boolean;
}

/**
 * The device registry: this server itself (always live) and every device that registered,
 * which goes stale when it has not been seen for `staleAfterMs`.
 */
export class DeviceRegistry {
  readonly #devices = new Map<string, DeviceRecord>();
  readonly #clock: Clock;
  readonly #staleAfterMs: number;
  #selfId = "";

  readonly #maxDevices: number;

  /** @param maxDevices devices kept; past it the oldest stale ones are forgotten. */
  constructor(clock: Clock, staleAfterMs: number, maxDevices = Number.POSITIVE_INFINITY) {
    this.#clock = clock;
    this.#staleAfterMs = staleAfterMs;
    this.#maxDevices = maxDevices;
  }

  /** How many devices are kept (the server itself included). */
  get size(): number {
    return this.#devices.size;
  }

  /** Registers (or refreshes) the server itself. */
  setSelf(info: DeviceInfo): void {
    this.#selfId = info.deviceId;
    this.#devices.set(info.deviceId, { info, lastSeenMs: this.#clock.now(), self: true });
  }

  /** The server itself. @throws {Error} before {@link setSelf}. */
  get self(): DeviceRecord {
    const s = this.#devices.get(this.#selfId);
    if (!s) throw new Error("edgemesh: the server has not registered itself yet");
    s.lastSeenMs = this.#clock.now();
    return s;
  }

  /**
   * Adds or refreshes a device; answers the registration time, Unix ms. The server's own
   * entry is never replaced from outside.
   *
   * @throws {ConnectError} RESOURCE_EXHAUSTED for a new device when `maxDevices` are kept and none is stale.
   */
  upsert(info: DeviceInfo): number {
    const now = this.#clock.now();
    if (info.deviceId === this.#selfId) return now;
    if (!this.#devices.has(info.deviceId) && !makeRoom(this.#devices, this.#maxDevices, (d) => this.isStale(d)))
      throw new ConnectError(
        `${this.#maxDevices} devices are registered and none is stale (edgemesh.maxDevices)`,
        Code.ResourceExhausted,
      );
    this.#devices.set(info.deviceId, { info, lastSeenMs: now, self: false });
    return now;
  }

  /** Marks devices named `name` as seen now (a heartbeat of a session that device made). */
  touchByName(name: string): void {
    for (const d of this.#devices.values()) if (d.info.deviceName === name) d.lastSeenMs = this.#clock.now();
  }

  /** One device, live or stale. */
  get(id: string): DeviceRecord | undefined {
    return id === this.#selfId ? this.self : this.#devices.get(id);
  }

  /** The device is stale: not seen for longer than `staleAfterMs` (never the server itself). */
  isStale(d: DeviceRecord): boolean {
    return !d.self && this.#clock.now() - d.lastSeenMs > this.#staleAfterMs;
  }

  /** Every live device, in route order (the server first, then by id). */
  live(): DeviceRecord[] {
    const own = this.#devices.get(this.#selfId);
    if (own) own.lastSeenMs = this.#clock.now();
    return routeOrder([...this.#devices.values()].filter((d) => !this.isStale(d)));
  }
}
