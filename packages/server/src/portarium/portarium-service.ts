import type { Clock } from "../clock.js";
import { AgentActionService } from "./agent-action-service.js";
import { AgentService } from "./agent-service.js";
import { ApprovalService } from "./approval-service.js";
import type { ConnectionTestPolicy } from "./connection-probe.js";
import { EvidenceLog } from "./evidence-log.js";
import { InvocationRunner } from "./invocation-runner.js";
import { InvocationService } from "./invocation-service.js";
import { MachineService } from "./machine-service.js";
import { RunService } from "./run-service.js";
import type { PortariumStore } from "./store.js";
import { WorkflowService } from "./workflow-service.js";
import { WorkspaceService } from "./workspace-service.js";

/** Options of a {@link PortariumService}. */
export interface PortariumServiceOptions {
  /** Where every rule reads the time and sets its timers. */
  clock: Clock;
  /** How long a machine invocation takes from acceptance to completion, in ms. */
  invocationDurationMs: number;
  /** Silence after which a machine is `Degraded` (twice this: `Offline`), in ms. */
  machineHeartbeatTimeoutMs: number;
  /** Which agent endpoints connection tests may dial. */
  connectionTestPolicy: ConnectionTestPolicy;
}

/**
 * The rules of the Portarium control plane, one service per resource, over one
 * {@link PortariumStore} and one evidence log: workspaces, workflows, runs, approvals,
 * approved agent actions, evidence, machines and their invocations, agents. Every service
 * works on validated requests (the router checks them against the OpenAPI document first).
 */
export class PortariumService {
  /** Workspaces: one per workspace a service account names. */
  readonly workspaces: WorkspaceService;
  /** Workflow definitions: list, create, get, update, archive. */
  readonly workflows: WorkflowService;
  /** Workflow runs: start, list, get, cancel, intervene, and their evidence. */
  readonly runs: RunService;
  /** Approval requests and decisions gating runs. */
  readonly approvals: ApprovalService;
  /** Agent actions executed under an approval. */
  readonly agentActions: AgentActionService;
  /** The evidence logs: append-only and hash-chained, per workspace. */
  readonly evidence: EvidenceLog;
  /** Machines: register, deregister, heartbeat, and connection tests. */
  readonly machines: MachineService;
  /** Machine invocations: invoke, get, subscribe to their event streams. */
  readonly machineInvocations: InvocationService;
  /** Registered agents. */
  readonly agents: AgentService;
  /** Runs machine invocations over time and feeds their streams. */
  readonly invocations: InvocationRunner;

  /** @throws {RangeError} when `invocationDurationMs` is negative or not a number. */
  constructor(store: PortariumStore, options: PortariumServiceOptions) {
    const { clock } = options;
    this.evidence = new EvidenceLog(store, clock);
    this.workspaces = new WorkspaceService(store, clock);
    this.workflows = new WorkflowService(store);
    this.runs = new RunService(store, clock, this.evidence);
    this.approvals = new ApprovalService(store, clock, this.evidence, this.runs);
    this.agentActions = new AgentActionService(store, this.evidence, this.approvals);
    this.agents = new AgentService(store, this.evidence, options.connectionTestPolicy);
    // The runner reports to the machines (heartbeats) and to the invocations (evidence), which
    // both hold the runner: the callbacks reach them once they exist.
    this.invocations = new InvocationRunner(store, {
      clock,
      durationMs: options.invocationDurationMs,
      onEvent: (ws, inv) => this.machines.heartbeat(ws, inv.machineId),
      onFinished: (ws, inv) => this.machineInvocations.recordFinished(ws, inv),
    });
    this.machines = new MachineService(store, clock, this.evidence, this.invocations, {
      heartbeatTimeoutMs: options.machineHeartbeatTimeoutMs,
    });
    this.machineInvocations = new InvocationService(store, this.evidence, this.machines, this.invocations);
  }

  /** Stops running invocations' timers and ends their streams. */
  close(): void {
    this.invocations.close();
  }
}
