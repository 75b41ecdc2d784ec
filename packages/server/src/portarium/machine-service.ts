import type { components } from "@baton/wire/portarium";
import { type Clock, isoNow } from "../clock.js";
import { type EvidenceLog, userActor } from "./evidence-log.js";
import { newId } from "./ids.js";
import type { InvocationRunner } from "./invocation-runner.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { MachineRecord, PortariumStore } from "./store.js";

type S = components["schemas"];

/** Options of a {@link MachineService}. */
export interface MachineServiceOptions {
  /** Silence after which a machine is `Degraded`; twice this, `Offline`. In ms. */
  heartbeatTimeoutMs: number;
}

/**
 * Machines and their liveness. baton-server has no machine agents to dial: its machines
 * are simulated, and what the server knows of one is what it reported. A machine reports
 * (its heartbeat, `lastHeartbeatAtIso`) when it registers and with every progress event of
 * its invocations. Its status is derived whenever it is read:
 * - `Online` while it runs invocations (`activeRunCount` says how many), or its last
 *   heartbeat is at most `heartbeatTimeoutMs` old;
 * - `Degraded` when the last heartbeat is older than that;
 * - `Offline` when it is older than twice that. An offline machine takes no invocations
 *   (409); registering it again brings it back.
 *
 * A connection test answers from the same state, since there is nothing to dial: `ok` for
 * an online machine, `slow` for a degraded one, `unreachable` for an offline one, with
 * `latencyMs` the age of its last heartbeat (0 while it runs invocations). Tests,
 * registrations and deregistrations leave evidence; deregistering fails the machine's
 * running invocations.
 */
export class MachineService {
  readonly #store: PortariumStore;
  readonly #clock: Clock;
  readonly #evidence: EvidenceLog;
  readonly #runner: InvocationRunner;
  readonly #timeoutMs: number;

  constructor(
    store: PortariumStore,
    clock: Clock,
    evidence: EvidenceLog,
    runner: InvocationRunner,
    options: MachineServiceOptions,
  ) {
    this.#store = store;
    this.#clock = clock;
    this.#evidence = evidence;
    this.#runner = runner;
    this.#timeoutMs = options.heartbeatTimeoutMs;
  }

  /** @throws {HttpProblem} 400 for a bad cursor. */
  list(workspaceId: string, page: PageQuery): ListPage<MachineRecord> {
    const { items, ...rest } = pageOf(this.#store.machines, workspaceId, "machines", page);
    return { items: items.map((m) => this.#view(m)), ...rest };
  }

  /** The machine as it is now (status derived). @throws {HttpProblem} 404 for an unknown machine. */
  get(workspaceId: string, machineId: string): MachineRecord {
    return this.#view(mustFind(this.#store.machines, workspaceId, machineId, "machine"));
  }

  /** Registers a machine; registering is its first heartbeat. */
  register(workspaceId: string, body: S["RegisterMachineRequest"], userId: string): MachineRecord {
    const at = isoNow(this.#clock);
    const machine: MachineRecord = {
      schemaVersion: 1,
      machineId: newId("mach"),
      workspaceId,
      hostname: body.hostname,
      ...(body.osImage !== undefined ? { osImage: body.osImage } : {}),
      registeredAtIso: at,
      lastHeartbeatAtIso: at,
      status: "Online",
      activeRunCount: 0,
      allowedCapabilities: body.allowedCapabilities ?? [],
    };
    this.#store.machines.insert(workspaceId, machine.machineId, machine);
    this.#record(machine, `machine ${machine.hostname} registered`, userId);
    return this.#view(machine);
  }

  /** Removes a machine and fails its running invocations. @throws {HttpProblem} 404 for an unknown machine. */
  deregister(workspaceId: string, machineId: string, userId: string): void {
    const m = mustFind(this.#store.machines, workspaceId, machineId, "machine");
    this.#store.machines.delete(workspaceId, machineId);
    this.#record(m, `machine ${m.hostname} deregistered`, userId);
    this.#runner.failMachine(workspaceId, machineId, `machine ${m.hostname} was deregistered`);
  }

  /** Records that the machine reported (a progress event). Machines deregistered meanwhile are skipped. */
  heartbeat(workspaceId: string, machineId: string): void {
    const m = this.#store.machines.get(workspaceId, machineId);
    if (m) this.#store.machines.update(workspaceId, machineId, { ...m, lastHeartbeatAtIso: isoNow(this.#clock) });
  }

  /** Answers what the machine's heartbeats say about reaching it. @throws {HttpProblem} 404 for an unknown machine. */
  test(workspaceId: string, machineId: string, userId: string): S["ConnectionTestResult"] {
    const m = this.get(workspaceId, machineId);
    const busy = (m.activeRunCount ?? 0) > 0;
    const latencyMs = busy ? 0 : this.#silentMs(m);
    let result: S["ConnectionTestResult"];
    if (m.status === "Online") result = { status: "ok", latencyMs };
    else if (m.status === "Degraded") {
      result = {
        status: "slow",
        latencyMs,
        errorMessage: `machine ${m.hostname} last reported ${latencyMs} ms ago; it is expected every ${this.#timeoutMs} ms`,
      };
    } else {
      result = {
        status: "unreachable",
        latencyMs,
        errorMessage: `machine ${m.hostname} has not reported since ${m.lastHeartbeatAtIso}: register it again`,
      };
    }
    this.#record(m, `machine ${m.hostname} connection test: ${result.status}`, userId);
    return result;
  }

  #silentMs(m: MachineRecord): number {
    const last = Date.parse(m.lastHeartbeatAtIso ?? m.registeredAtIso);
    return Math.max(0, this.#clock.now() - last);
  }

  /** The stored machine with its status and active invocation count as of now. */
  #view(m: MachineRecord): MachineRecord {
    const running = this.#runner.runningOn(m.workspaceId, m.machineId);
    const silent = this.#silentMs(m);
    const status: S["MachineStatus"] =
      running > 0 || silent <= this.#timeoutMs ? "Online" : silent <= 2 * this.#timeoutMs ? "Degraded" : "Offline";
    return { ...m, status, activeRunCount: running };
  }

  #record(m: MachineRecord, summary: string, userId: string): void {
    this.#evidence.append(m.workspaceId, {
      correlationId: m.machineId,
      category: "System",
      summary,
      actor: userActor(userId),
    });
  }
}
