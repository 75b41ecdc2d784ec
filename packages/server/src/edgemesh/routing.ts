import { type DeviceInfo, RoutingPolicy_Mode } from "@baton/wire/edgemesh";
import { Code, ConnectError } from "@connectrpc/connect";

/** A device as routing sees it: its registration and whether it is the server itself. */
export interface RouteCandidate {
  /** The device's registration. */
  readonly info: DeviceInfo;
  /** It is the server answering the call. */
  readonly self: boolean;
}

/** NPU before GPU before CPU: the BEST_AVAILABLE rank of a device (lower is better). */
export function acceleratorRank(d: DeviceInfo): number {
  return d.hasNpu ? 0 : d.hasGpu ? 1 : 2;
}

/**
 * The order ties break in, everywhere in edgemesh (routing, ListDevices, job assignment,
 * cost recommendations): the server itself first, then the other devices by `device_id`
 * ascending (plain string order).
 */
export function routeOrder<T extends RouteCandidate>(devices: readonly T[]): T[] {
  return [...devices].sort((a, b) =>
    a.self !== b.self
      ? a.self
        ? -1
        : 1
      : a.info.deviceId < b.info.deviceId
        ? -1
        : a.info.deviceId > b.info.deviceId
          ? 1
          : 0,
  );
}

/** The best by accelerator rank (NPU, GPU, CPU), ties broken by {@link routeOrder}. */
function best<T extends RouteCandidate>(devices: readonly T[]): T | undefined {
  let pick: T | undefined;
  for (const d of routeOrder(devices)) if (!pick || acceleratorRank(d.info) < acceleratorRank(pick.info)) pick = d;
  return pick;
}

/**
 * Picks the device a routing policy names among the live devices:
 * - BEST_AVAILABLE: NPU, then GPU, then CPU;
 * - REQUIRE_NPU: the first device with an NPU, else FAILED_PRECONDITION;
 * - PREFER_REMOTE: the best device other than the server itself, else the server;
 * - FORCE_DEVICE_ID: that device, else NOT_FOUND (INVALID_ARGUMENT without an id);
 * - PREFER_LOCAL_MODEL: the best device with `has_local_model`, else the best of all;
 * - REQUIRE_LOCAL_MODEL: the best device with `has_local_model`, else FAILED_PRECONDITION.
 * Ties break by {@link routeOrder}.
 *
 * @throws {ConnectError} as above; UNAVAILABLE when there is no live device at all.
 */
export function selectDevice<T extends RouteCandidate>(
  devices: readonly T[],
  mode: RoutingPolicy_Mode,
  deviceId = "",
): T {
  const fail = (code: Code, msg: string): never => {
    throw new ConnectError(msg, code);
  };
  const all = best(devices) ?? fail(Code.Unavailable, "no live device in the mesh");
  switch (mode) {
    case RoutingPolicy_Mode.BEST_AVAILABLE:
      return all;
    case RoutingPolicy_Mode.REQUIRE_NPU:
      return (
        best(devices.filter((d) => d.info.hasNpu)) ??
        fail(Code.FailedPrecondition, `REQUIRE_NPU: none of the ${devices.length} live devices has an NPU`)
      );
    case RoutingPolicy_Mode.PREFER_REMOTE:
      return best(devices.filter((d) => !d.self)) ?? all;
    case RoutingPolicy_Mode.FORCE_DEVICE_ID:
      if (deviceId === "") return fail(Code.InvalidArgument, "FORCE_DEVICE_ID needs policy.device_id");
      return (
        devices.find((d) => d.info.deviceId === deviceId) ??
        fail(Code.NotFound, `FORCE_DEVICE_ID: no live device ${JSON.stringify(deviceId)} in the mesh`)
      );
    case RoutingPolicy_Mode.PREFER_LOCAL_MODEL:
      return best(devices.filter((d) => d.info.hasLocalModel)) ?? all;
    case RoutingPolicy_Mode.REQUIRE_LOCAL_MODEL:
      return (
        best(devices.filter((d) => d.info.hasLocalModel)) ??
        fail(
          Code.FailedPrecondition,
          `REQUIRE_LOCAL_MODEL: none of the ${devices.length} live devices has a local model`,
        )
      );
    default:
      return fail(Code.InvalidArgument, `unknown routing mode ${String(mode)}`);
  }
}
