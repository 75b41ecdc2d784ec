import { inWorkspace, type PortariumCallOptions } from "./call.js";
import type { InvocationStreamOptions, MachineInvocation, MachineInvocationEvent } from "./invocation-stream.js";
import type { MachinesResource, WaitForInvocationOptions } from "./machines.js";

/** One machine invocation, by id: made by `machines.getInvocationHandle(...)` without a network call. */
export class InvocationHandle {
  /** The invocation's id. */
  readonly id: string;
  /** The machine it runs on. */
  readonly machineId: string;
  /** The workspace it is in (undefined: every call must name one). */
  readonly workspaceId: string | undefined;
  readonly #machines: MachinesResource;

  /** @internal Use `machines.getInvocationHandle(machineId, invocationId)`. */
  constructor(machines: MachinesResource, machineId: string, id: string, workspaceId: string | undefined) {
    this.#machines = machines;
    this.machineId = machineId;
    this.id = id;
    this.workspaceId = workspaceId;
  }

  /** The invocation's current state. @throws {NotFoundError} */
  get(options: PortariumCallOptions = {}): Promise<MachineInvocation> {
    return this.#machines.getInvocation(this.machineId, this.id, inWorkspace(options, this.workspaceId));
  }

  /** Its progress events, up to the terminal one (see `machines.streamInvocation`). */
  events(options: InvocationStreamOptions = {}): AsyncGenerator<MachineInvocationEvent, void, undefined> {
    return this.#machines.streamInvocation(this.machineId, this.id, inWorkspace(options, this.workspaceId));
  }

  /** Waits for its final state (see `machines.waitForInvocation`). */
  wait(options: WaitForInvocationOptions = {}): Promise<MachineInvocation> {
    return this.#machines.waitForInvocation(this.machineId, this.id, inWorkspace(options, this.workspaceId));
  }
}
