import {
  type CallOptions,
  callOrThrow,
  connectCallOptions,
  dateMs,
  InvalidArgumentError,
  int64,
  PagedList,
  required,
} from "@baton/core";
import type {
  DeviceInfo,
  OrchestratorService,
  DeviceStatus as WireDeviceStatus,
  MetricsSample as WireSample,
} from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";

/** A device of the mesh. */
export interface Device {
  /** Stable id. */
  id: string;
  /** Human-readable name. */
  name: string;
  /** `darwin`, `windows`, `linux`, `android`, `ios`. */
  platform: string;
  /** `amd64`, `arm64`. */
  arch: string;
  /** Accelerators. */
  hasGpu: boolean;
  /** NPU available. */
  hasNpu: boolean;
  /** gRPC address. */
  grpcAddr: string;
  /** Bulk HTTP address. */
  httpAddr: string;
  /** Can capture its screen. */
  canScreenCapture: boolean;
  /** Own LLM throughput, tokens/s (0: the cost model's default). */
  llmPrefillToksPerS: number;
  /** Own LLM decode throughput, tokens/s (0: default). */
  llmDecodeToksPerS: number;
  /** Free RAM, MB (0: unknown). */
  ramFreeMb: number;
  /** A local model is running. */
  hasLocalModel: boolean;
  /** Its name. */
  localModelName: string;
  /** Its Ollama-style endpoint. */
  localChatEndpoint: string;
}

/** What `devices.register()` takes: a device, `id` required, the rest defaulting to empty/false/0. */
export type DeviceInput = Partial<Device> & {
  /** The device's id, unique in the mesh; registering an id again replaces that device. */
  id: string;
};

/** A device's status. */
export interface DeviceStatus {
  /** The device. */
  deviceId: string;
  /** When it was last seen. */
  lastSeen: Date;
  /** CPU load 0..1, -1 if unavailable. */
  cpuLoad: number;
  /** Memory used, MB. */
  memUsedMb: number;
  /** Memory total, MB. */
  memTotalMb: number;
  /** GPU load 0..1, -1 if unavailable. */
  gpuLoad: number;
  /** NPU load 0..1, -1 if unavailable. */
  npuLoad: number;
  /** When sampled. */
  sampledAt: Date;
}

/** A load sample. */
export interface MetricsSample {
  /** When. */
  at: Date;
  /** CPU load 0..1, -1 if unavailable. */
  cpuLoad: number;
  /** Memory used, MB. */
  memUsedMb: number;
  /** Memory total, MB. */
  memTotalMb: number;
}

/** Running tasks and per-device activity. */
export interface Activity {
  /** Tasks running now. */
  runningTasks: Array<{
    /** The task id within its job. */
    taskId: string;
    /** The job the task belongs to. */
    jobId: string;
    /** The task kind (`SYSINFO`, `ECHO`, `LLM_GENERATE`, ...). */
    kind: string;
    /** The device running it. */
    deviceId: string;
    /** That device's name. */
    deviceName: string;
    /** When it started running. */
    startedAt: Date;
    /** How long it has been running, ms, as of the server's answer. */
    elapsedMs: number;
  }>;
  /** Per live device. */
  devices: Array<{
    /** The device id. */
    deviceId: string;
    /** The device's name. */
    deviceName: string;
    /** How many tasks it is running now. */
    runningTaskCount: number;
    /** Its last reported status; `undefined` when it has sent none yet. */
    status: DeviceStatus | undefined;
  }>;
  /** Load history by device id, when asked for. */
  metrics: Record<string, MetricsSample[]>;
}

/** @internal */
export function toDevice(d: DeviceInfo): Device {
  return {
    id: d.deviceId,
    name: d.deviceName,
    platform: d.platform,
    arch: d.arch,
    hasGpu: d.hasGpu,
    hasNpu: d.hasNpu,
    grpcAddr: d.grpcAddr,
    httpAddr: d.httpAddr,
    canScreenCapture: d.canScreenCapture,
    llmPrefillToksPerS: d.llmPrefillToksPerS,
    llmDecodeToksPerS: d.llmDecodeToksPerS,
    ramFreeMb: Number(d.ramFreeMb),
    hasLocalModel: d.hasLocalModel,
    localModelName: d.localModelName,
    localChatEndpoint: d.localChatEndpoint,
  };
}

function toStatus(s: WireDeviceStatus): DeviceStatus {
  return {
    deviceId: s.deviceId,
    lastSeen: new Date(Number(s.lastSeen) * 1000),
    cpuLoad: s.cpuLoad,
    memUsedMb: Number(s.memUsedMb),
    memTotalMb: Number(s.memTotalMb),
    gpuLoad: s.gpuLoad,
    npuLoad: s.npuLoad,
    sampledAt: new Date(Number(s.timestampMs)),
  };
}

function toSample(s: WireSample): MetricsSample {
  return {
    at: new Date(Number(s.timestampMs)),
    cpuLoad: s.cpuLoad,
    memUsedMb: Number(s.memUsedMb),
    memTotalMb: Number(s.memTotalMb),
  };
}

/** A device by id: status and metrics without repeating the id. Made by `devices.getHandle(id)`. */
export class DeviceHandle {
  /** The device id. */
  readonly id: string;
  readonly #devices: Devices;

  /** @internal */
  constructor(devices: Devices, id: string) {
    this.#devices = devices;
    this.id = id;
  }

  /** The device's status. @throws {NotFoundError} for an unknown device. */
  status(options?: CallOptions): Promise<DeviceStatus> {
    return this.#devices.status(this.id, options);
  }

  /** The device's recent load samples, oldest first. @throws {NotFoundError} for an unknown device. */
  metrics(options?: CallOptions): Promise<MetricsSample[]> {
    return this.#devices.metrics(this.id, options);
  }
}

/** The `devices` resource of {@link EdgemeshClient}: the mesh's device registry. */
export class Devices {
  readonly #raw: Client<typeof OrchestratorService>;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>) {
    this.#raw = raw;
  }

  /**
   * Registers (or refreshes) a device. Devices that stop re-registering go stale.
   *
   * @throws {InvalidArgumentError} without an id.
   */
  async register(
    device: DeviceInput,
    options: CallOptions = {},
  ): Promise<{
    /** When the server registered the device (second precision). */
    registeredAt: Date;
  }> {
    if (typeof device?.id !== "string" || device.id === "")
      throw new InvalidArgumentError("register() needs a device id");
    const res = await callOrThrow(() =>
      this.#raw.registerDevice(
        {
          deviceId: device.id,
          deviceName: device.name ?? "",
          platform: device.platform ?? "",
          arch: device.arch ?? "",
          hasCpu: true,
          hasGpu: device.hasGpu ?? false,
          hasNpu: device.hasNpu ?? false,
          grpcAddr: device.grpcAddr ?? "",
          canScreenCapture: device.canScreenCapture ?? false,
          httpAddr: device.httpAddr ?? "",
          llmPrefillToksPerS: device.llmPrefillToksPerS ?? 0,
          llmDecodeToksPerS: device.llmDecodeToksPerS ?? 0,
          ramFreeMb: int64("ramFreeMb", Math.max(0, Math.floor(device.ramFreeMb ?? 0))),
          hasLocalModel: device.hasLocalModel ?? false,
          localModelName: device.localModelName ?? "",
          localChatEndpoint: device.localChatEndpoint ?? "",
        },
        connectCallOptions(options),
      ),
    );
    return { registeredAt: new Date(Number(res.registeredAt) * 1000) };
  }

  /** Every live device (the server first, then by id). The server does not page. */
  list(options: CallOptions = {}): PagedList<Device> {
    return PagedList.single(async () =>
      (await callOrThrow(() => this.#raw.listDevices({}, connectCallOptions(options)))).devices.map(toDevice),
    );
  }

  /** A device's last-seen time and load. @throws {NotFoundError} for an unknown device. */
  async status(id: string, options: CallOptions = {}): Promise<DeviceStatus> {
    if (typeof id !== "string") throw new InvalidArgumentError("status() needs a device id");
    return toStatus(await callOrThrow(() => this.#raw.getDeviceStatus({ deviceId: id }, connectCallOptions(options))));
  }

  /** A device's recent load samples, oldest first. @throws {NotFoundError} for an unknown device. */
  async metrics(id: string, options: CallOptions = {}): Promise<MetricsSample[]> {
    if (typeof id !== "string") throw new InvalidArgumentError("metrics() needs a device id");
    const res = await callOrThrow(() => this.#raw.getDeviceMetrics({ deviceId: id }, connectCallOptions(options)));
    return res.samples.map(toSample);
  }

  /** Running tasks and per-device activity; `includeMetrics` adds load history since `metricsSince`. */
  async activity(opts: { includeMetrics?: boolean; metricsSince?: Date } & CallOptions = {}): Promise<Activity> {
    const res = await callOrThrow(() =>
      this.#raw.getActivity(
        {
          includeMetricsHistory: opts.includeMetrics ?? false,
          metricsSinceMs: dateMs("metricsSince", opts.metricsSince),
        },
        connectCallOptions(opts),
      ),
    );
    const activity = required(res.activity, "GetActivityResponse.activity");
    return {
      runningTasks: activity.runningTasks.map((t) => ({
        taskId: t.taskId,
        jobId: t.jobId,
        kind: t.kind,
        deviceId: t.deviceId,
        deviceName: t.deviceName,
        startedAt: new Date(Number(t.startedAtMs)),
        elapsedMs: Number(t.elapsedMs),
      })),
      devices: activity.deviceActivities.map((d) => ({
        deviceId: d.deviceId,
        deviceName: d.deviceName,
        runningTaskCount: d.runningTaskCount,
        status: d.currentStatus ? toStatus(d.currentStatus) : undefined,
      })),
      metrics: Object.fromEntries(Object.entries(res.deviceMetrics).map(([k, v]) => [k, v.samples.map(toSample)])),
    };
  }

  /** A handle on a device. Makes no call. */
  getHandle(id: string): DeviceHandle {
    return new DeviceHandle(this, id);
  }
}
