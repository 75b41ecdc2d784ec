import { type DeviceInfo, DeviceInfoSchema, RoutingPolicy_Mode as Mode } from "@baton/wire/edgemesh";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { acceleratorRank, type RouteCandidate, routeOrder, selectDevice } from "./routing.js";

type Flags = Partial<Pick<DeviceInfo, "hasGpu" | "hasNpu" | "hasLocalModel">>;

function dev(deviceId: string, flags: Flags = {}, self = false): RouteCandidate {
  return { info: create(DeviceInfoSchema, { deviceId, hasCpu: true, ...flags }), self };
}

const pick = (devices: RouteCandidate[], mode: Mode, id = "") => selectDevice(devices, mode, id).info.deviceId;

function failure(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("expected a ConnectError");
}

describe("routeOrder", () => {
  it("puts the server itself first, then the others by device_id in plain string order", () => {
    const order = routeOrder([dev("z"), dev("a"), dev("m", {}, true), dev("B"), dev("b")]);
    // Plain code-unit order: upper case sorts before lower case.
    expect(order.map((d) => d.info.deviceId)).toEqual(["m", "B", "a", "b", "z"]);
  });

  it("does not reorder its input", () => {
    const input = [dev("b"), dev("a")];
    routeOrder(input);
    expect(input.map((d) => d.info.deviceId)).toEqual(["b", "a"]);
  });
});

describe("acceleratorRank", () => {
  it("ranks NPU, then GPU, then CPU only", () => {
    expect(acceleratorRank(dev("x", { hasNpu: true, hasGpu: true }).info)).toBe(0);
    expect(acceleratorRank(dev("x", { hasGpu: true }).info)).toBe(1);
    expect(acceleratorRank(dev("x").info)).toBe(2);
  });
});

describe("selectDevice", () => {
  const self = dev("self", {}, true);
  const gpu = dev("gpu", { hasGpu: true });
  const npu = dev("npu", { hasNpu: true });
  const model = dev("model", { hasLocalModel: true });

  it("BEST_AVAILABLE: NPU over GPU over CPU, whatever the input order", () => {
    expect(pick([self, gpu, npu, model], Mode.BEST_AVAILABLE)).toBe("npu");
    expect(pick([model, npu, gpu, self], Mode.BEST_AVAILABLE)).toBe("npu");
    expect(pick([self, model, gpu], Mode.BEST_AVAILABLE)).toBe("gpu");
    expect(pick([model, self], Mode.BEST_AVAILABLE)).toBe("self");
  });

  it("BEST_AVAILABLE ties: the server itself, then the lowest device_id", () => {
    expect(pick([dev("b"), dev("a"), dev("s", {}, true)], Mode.BEST_AVAILABLE)).toBe("s");
    expect(pick([dev("y", { hasGpu: true }), dev("x", { hasGpu: true }), self], Mode.BEST_AVAILABLE)).toBe("x");
    expect(pick([dev("y", { hasGpu: true }), dev("s2", { hasGpu: true }, true)], Mode.BEST_AVAILABLE)).toBe("s2");
  });

  it("REQUIRE_NPU: the device with an NPU (lowest id on a tie), else FAILED_PRECONDITION naming why", () => {
    expect(pick([self, gpu, dev("npu-b", { hasNpu: true }), npu], Mode.REQUIRE_NPU)).toBe("npu");
    const err = failure(() => selectDevice([self, gpu, model], Mode.REQUIRE_NPU));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe("REQUIRE_NPU: none of the 3 live devices has an NPU");
  });

  it("PREFER_REMOTE: the best device other than the server, else the server", () => {
    const bigSelf = dev("self", { hasNpu: true }, true);
    expect(pick([bigSelf, dev("c"), gpu], Mode.PREFER_REMOTE)).toBe("gpu");
    expect(pick([bigSelf, dev("d"), dev("c")], Mode.PREFER_REMOTE)).toBe("c");
    expect(pick([bigSelf], Mode.PREFER_REMOTE)).toBe("self");
  });

  it("FORCE_DEVICE_ID: exactly that device, even a worse one; NOT_FOUND or INVALID_ARGUMENT otherwise", () => {
    expect(pick([npu, self, gpu], Mode.FORCE_DEVICE_ID, "self")).toBe("self");
    expect(pick([npu, self, gpu], Mode.FORCE_DEVICE_ID, "gpu")).toBe("gpu");
    const missing = failure(() => selectDevice([npu, self], Mode.FORCE_DEVICE_ID, "ghost"));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toMatch(/"ghost"/);
    expect(failure(() => selectDevice([npu], Mode.FORCE_DEVICE_ID)).code).toBe(Code.InvalidArgument);
  });

  it("PREFER_LOCAL_MODEL: the best device with a model, else the best of all", () => {
    const npuModel = dev("zz", { hasLocalModel: true, hasNpu: true });
    expect(pick([self, npu, model, npuModel], Mode.PREFER_LOCAL_MODEL)).toBe("zz");
    expect(pick([self, npu, model], Mode.PREFER_LOCAL_MODEL)).toBe("model");
    expect(pick([dev("m2", { hasLocalModel: true }), model, self], Mode.PREFER_LOCAL_MODEL)).toBe("m2");
    expect(pick([self, gpu, npu], Mode.PREFER_LOCAL_MODEL)).toBe("npu");
  });

  it("REQUIRE_LOCAL_MODEL: the best device with a model, else FAILED_PRECONDITION naming why", () => {
    const selfModel = dev("self", { hasLocalModel: true }, true);
    expect(pick([model, selfModel, npu], Mode.REQUIRE_LOCAL_MODEL)).toBe("self");
    const err = failure(() => selectDevice([self, npu], Mode.REQUIRE_LOCAL_MODEL));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe("REQUIRE_LOCAL_MODEL: none of the 2 live devices has a local model");
  });

  it("fails UNAVAILABLE without any device and INVALID_ARGUMENT for an unknown mode", () => {
    for (const mode of [Mode.BEST_AVAILABLE, Mode.PREFER_REMOTE, Mode.FORCE_DEVICE_ID]) {
      expect(failure(() => selectDevice([], mode, "x")).code).toBe(Code.Unavailable);
    }
    const bad = failure(() => selectDevice([self], 99 as Mode));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toBe("unknown routing mode 99");
  });
});
