import { deadline, type PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import type { ConnectionTestResult } from "./agents.js";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import { InvocationHandle } from "./invocation-handle.js";
import {
  type InvocationStreamOptions,
  invocationEvents,
  type MachineInvocation,
  type MachineInvocationEvent,
} from "./invocation-stream.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** A registered machine. */
export type Machine = S["MachineV1"];

/** What `machines.invoke` takes: the request minus what the client fills in. */
export type MachineInvocationInput = Omit<
  S["MachineInvocationRequestV1"],
  "schemaVersion" | "machineId" | "workspaceId" | "invocationId"
> & {
  /** Default: a new UUID. */
  invocationId?: string;
};

/** Options of `machines.waitForInvocation`. */
export interface WaitForInvocationOptions extends InvocationStreamOptions {
  /**
   * Bound of the whole wait, in ms: the stream and the final read. 0 or unset: none (the
   * client's `timeoutMs` does not apply: it bounds unary calls, and a wait is not one).
   */
  timeoutMs?: number;
}

const ONE = "/v1/workspaces/{workspaceId}/machines/{machineId}";

/** Registered machines and their invocations. */
export class MachinesResource extends Resource {
  /** Registers a machine. */
  register(body: S["RegisterMachineRequest"], options: PortariumCallOptions = {}): Promise<Machine> {
    return this.call(options, (r) => r.raw.POST("/v1/workspaces/{workspaceId}/machines", { ...r.at({}), body }));
  }

  /** Lists machines, oldest first. */
  list(options: ListOptions = {}): PagedList<Machine> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces/{workspaceId}/machines", r.at({}, query)));
  }

  /** Gets a machine. @throws {NotFoundError} */
  get(machineId: string, options: PortariumCallOptions = {}): Promise<Machine> {
    return this.call(options, (r) => r.raw.GET(ONE, r.at({ machineId })));
  }

  /** Deregisters a machine; its running invocations fail. @throws {NotFoundError} */
  deregister(machineId: string, options: PortariumCallOptions = {}): Promise<void> {
    return this.callEmpty(options, (r) => r.raw.DELETE(ONE, r.at({ machineId })));
  }

  /** Tests the connection to a machine. @throws {NotFoundError} */
  test(machineId: string, options: PortariumCallOptions = {}): Promise<ConnectionTestResult> {
    return this.call(options, (r) => r.raw.POST(`${ONE}/test`, r.at({ machineId })));
  }

  /**
   * Invokes an action on a machine and answers the accepted invocation (follow it with
   * `getInvocationHandle(machineId, inv.invocationId)`, `streamInvocation` or
   * `waitForInvocation`). `invocationId` defaults to a new UUID; `machineId`, `workspaceId`
   * and `schemaVersion` are filled in.
   */
  invoke(
    machineId: string,
    body: MachineInvocationInput,
    options: PortariumCallOptions = {},
  ): Promise<MachineInvocation> {
    return this.call(options, (r) => {
      const { workspaceId } = r;
      const request = { ...body, schemaVersion: 1 as const, invocationId: body.invocationId ?? crypto.randomUUID() };
      return r.raw.POST(`${ONE}/invocations`, {
        ...r.at({ machineId }),
        body: { ...request, machineId, workspaceId },
      });
    });
  }

  /** Gets the state of an invocation. @throws {NotFoundError} */
  getInvocation(
    machineId: string,
    invocationId: string,
    options: PortariumCallOptions = {},
  ): Promise<MachineInvocation> {
    return this.call(options, (r) => r.raw.GET(`${ONE}/invocations/{invocationId}`, r.at({ machineId, invocationId })));
  }

  /**
   * An invocation's progress events, in order: what already happened, then live events, up
   * to and including the terminal one (`completed` or `failed`), where the iteration ends.
   * A dropped connection is resumed after the last event seen (`Last-Event-ID`), with no
   * loss and no duplicates. `break` (or `signal`) closes the stream. The stream is not cut
   * by `timeoutMs`; `idleTimeoutMs` (default: the client's) fails it when the server sends
   * nothing (no event, no keep-alive) for that long.
   *
   * @throws {NotFoundError} when the machine or invocation does not exist.
   * @throws {DeadlineExceededError} when the stream stays silent for `idleTimeoutMs`.
   * @throws {UnavailableError} when the stream keeps dropping (see `maxReconnects`).
   * @example
   * ```ts
   * for await (const e of portarium.machines.streamInvocation(machineId, invocationId)) {
   *   console.log(e.status, e.step, e.progressRatio);
   * }
   * ```
   */
  streamInvocation(
    machineId: string,
    invocationId: string,
    options: InvocationStreamOptions = {},
  ): AsyncGenerator<MachineInvocationEvent, void, undefined> {
    return invocationEvents(this.scope, machineId, invocationId, options);
  }

  /**
   * Waits until an invocation finishes, following its progress stream (resumed if the
   * connection drops), and answers its final state: `completed` (with
   * `outputArtifactUris` when the machine produced any), or `failed` with its `error`.
   * `timeoutMs` bounds the whole wait (default: none).
   *
   * @throws {NotFoundError} when the machine or invocation does not exist.
   * @throws {DeadlineExceededError} when `timeoutMs` passes first.
   * @example
   * ```ts
   * const inv = await portarium.machines.invoke(machineId, { action: "compile" });
   * const done = await portarium.machines.waitForInvocation(machineId, inv.invocationId, { timeoutMs: 60_000 });
   * if (done.status === "failed") throw new Error(done.error);
   * ```
   */
  async waitForInvocation(
    machineId: string,
    invocationId: string,
    options: WaitForInvocationOptions = {},
  ): Promise<MachineInvocation> {
    const { timeoutMs, ...stream } = options;
    const { signal, exceeded } = deadline(timeoutMs, options.signal);
    const bounded = { ...stream, ...(signal ? { signal } : {}) };
    try {
      for await (const _ of this.streamInvocation(machineId, invocationId, bounded)) {
        // The stream ends after the terminal event; the final state carries its outputs.
      }
      const { workspaceId, headers } = bounded;
      const read: PortariumCallOptions = {
        ...(workspaceId !== undefined ? { workspaceId } : {}),
        ...(headers ? { headers } : {}),
        ...(signal ? { signal } : {}),
      };
      return await this.getInvocation(machineId, invocationId, read);
    } catch (err) {
      throw exceeded(err) ?? err;
    }
  }

  /**
   * A handle on an invocation, with no network call: `get`, `events` and `wait` without
   * repeating its ids. `workspaceId` binds it to a workspace other than the client's.
   *
   * @example
   * ```ts
   * const inv = await portarium.machines.invoke(machineId, { action: "compile" });
   * const handle = portarium.machines.getInvocationHandle(machineId, inv.invocationId);
   * for await (const e of handle.events()) console.log(e.status);
   * ```
   */
  getInvocationHandle(
    machineId: string,
    invocationId: string,
    options: { workspaceId?: string } = {},
  ): InvocationHandle {
    return new InvocationHandle(this, machineId, invocationId, options.workspaceId ?? this.scope.workspaceId);
  }
}
