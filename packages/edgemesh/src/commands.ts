import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError, required } from "@baton/core";
import { type OrchestratorService, RoutingPolicy_Mode } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import type { SessionKeeper } from "./session.js";

/**
 * Where a routed command runs: `best-available` (NPU, then GPU, then CPU), `require-npu`
 * (fails when no device has one), `prefer-remote` (a device other than the server when
 * there is one), `force-device` (that device, else NotFoundError), `prefer-local-model` and
 * `require-local-model` (a device with a local LLM).
 */
export type RoutingPolicy =
  | {
      /** The device with the best accelerator: NPU, then GPU, then CPU. The default. */
      mode: "best-available";
    }
  | {
      /** Only a device with an NPU; the call fails when none has one. */
      mode: "require-npu";
    }
  | {
      /** A device other than the server when there is one, else the server. */
      mode: "prefer-remote";
    }
  | {
      /** Exactly the device `deviceId`. */
      mode: "force-device";
      /** The device to run on; NotFoundError when it is not registered and live. */
      deviceId: string;
    }
  | {
      /** A device with a local LLM when there is one, else any. */
      mode: "prefer-local-model";
    }
  | {
      /** Only a device with a local LLM; the call fails when none has one. */
      mode: "require-local-model";
    };

const MODES: Record<RoutingPolicy["mode"], RoutingPolicy_Mode> = {
  "best-available": RoutingPolicy_Mode.BEST_AVAILABLE,
  "require-npu": RoutingPolicy_Mode.REQUIRE_NPU,
  "prefer-remote": RoutingPolicy_Mode.PREFER_REMOTE,
  "force-device": RoutingPolicy_Mode.FORCE_DEVICE_ID,
  "prefer-local-model": RoutingPolicy_Mode.PREFER_LOCAL_MODEL,
  "require-local-model": RoutingPolicy_Mode.REQUIRE_LOCAL_MODEL,
};

/** @internal The wire form of a policy. @throws {InvalidArgumentError} for an unknown mode. */
export function wirePolicy(p: RoutingPolicy | undefined): { mode: RoutingPolicy_Mode; deviceId: string } {
  const policy = p ?? { mode: "best-available" };
  const mode = MODES[policy.mode];
  if (mode === undefined) throw new InvalidArgumentError(`unknown routing mode ${JSON.stringify(policy.mode)}`);
  return { mode, deviceId: policy.mode === "force-device" ? policy.deviceId : "" };
}

/** A command's outcome. */
export interface CommandResult {
  /** Exit code. */
  exitCode: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** A routed command's outcome: the output and where it ran. */
export interface RoutedCommandResult extends CommandResult {
  /** The device that ran it. */
  device: {
    /** The device id. */
    id: string;
    /** The device's display name. */
    name: string;
    /** The device's gRPC address as it registered it (`host:port`). */
    addr: string;
  };
  /** Wall time on the server, forwarding included, ms. */
  totalTimeMs: number;
  /** It ran on the server itself. */
  executedLocally: boolean;
}

function checkArgs(command: unknown, args: unknown): asserts args is string[] | undefined {
  if (typeof command !== "string" || command === "") throw new InvalidArgumentError("a command name is required");
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== "string")))
    throw new InvalidArgumentError("args must be an array of strings");
}

/** The `commands` resource of {@link EdgemeshClient}: run allowlisted commands. */
export class Commands {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper) {
    this.#raw = raw;
    this.#session = session;
  }

  /**
   * Runs a command on the device the policy picks (ExecuteRoutedCommand); the server
   * forwards it when that is another device.
   *
   * @throws {PermissionDeniedError} for a command not on the device's allowlist.
   * @throws {FailedPreconditionError} when a `require-*` policy finds no device.
   * @throws {NotFoundError} when `force-device` names no live device.
   * @example
   * ```ts
   * const r = await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-remote" } });
   * console.log(r.device.name, r.stdout);
   * ```
   */
  async exec(
    command: string,
    args: string[] = [],
    options: { policy?: RoutingPolicy } & CallOptions = {},
  ): Promise<RoutedCommandResult> {
    checkArgs(command, args);
    const policy = wirePolicy(options.policy);
    const res = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.executeRoutedCommand({ sessionId, policy, command, args }, connectCallOptions(options)),
      ),
    );
    const out = required(res.output, "RoutedCommandResponse.output");
    return {
      exitCode: out.exitCode,
      stdout: out.stdout,
      stderr: out.stderr,
      device: { id: res.selectedDeviceId, name: res.selectedDeviceName, addr: res.selectedDeviceAddr },
      totalTimeMs: res.totalTimeMs,
      executedLocally: res.executedLocally,
    };
  }

  /** Runs a command on the server itself (ExecuteCommand). @throws {PermissionDeniedError} off the allowlist. */
  async execLocal(command: string, args: string[] = [], options: CallOptions = {}): Promise<CommandResult> {
    checkArgs(command, args);
    const out = await this.#session.withSession((sessionId) =>
      callOrThrow(() => this.#raw.executeCommand({ sessionId, command, args }, connectCallOptions(options))),
    );
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
  }
}
