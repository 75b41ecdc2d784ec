import type { components } from "@baton/wire/portarium";
import { type ConnectionTestPolicy, probeEndpoint } from "./connection-probe.js";
import { type EvidenceLog, userActor } from "./evidence-log.js";
import { HttpProblem } from "./http.js";
import { newId } from "./ids.js";
import { mustFind } from "./lookup.js";
import { type ListPage, type PageQuery, pageOf } from "./paging.js";
import type { AgentRecord, PortariumStore } from "./store.js";

type S = components["schemas"];

/**
 * Agents: named endpoints with capabilities. A connection test really dials the agent's
 * endpoint, when the server's `ConnectionTestPolicy` allows its resolved address (see
 * `probeEndpoint`), and every registration, update and test (refused ones too) leaves evidence.
 */
export class AgentService {
  readonly #store: PortariumStore;
  readonly #evidence: EvidenceLog;
  readonly #policy: ConnectionTestPolicy;

  constructor(store: PortariumStore, evidence: EvidenceLog, policy: ConnectionTestPolicy) {
    this.#store = store;
    this.#evidence = evidence;
    this.#policy = policy;
  }

  /** @throws {HttpProblem} 400 for a bad cursor. */
  list(workspaceId: string, page: PageQuery): ListPage<AgentRecord> {
    return pageOf(this.#store.agents, workspaceId, "agents", page);
  }

  /** @throws {HttpProblem} 404 for an unknown agent. */
  get(workspaceId: string, agentId: string): AgentRecord {
    return mustFind(this.#store.agents, workspaceId, agentId, "agent");
  }

  /**
   * Registers an agent in a workspace under a new `agent-...` id and records evidence of
   * it by `userId`. The body is already validated against the OpenAPI schema.
   */
  register(workspaceId: string, body: S["RegisterAgentRequest"], userId: string): AgentRecord {
    const agent: AgentRecord = {
      schemaVersion: 1,
      agentId: newId("agent"),
      workspaceId,
      name: body.name,
      ...(body.modelId !== undefined ? { modelId: body.modelId } : {}),
      endpoint: body.endpoint,
      allowedCapabilities: body.allowedCapabilities ?? [],
    };
    this.#store.agents.insert(workspaceId, agent.agentId, agent);
    this.#record(agent, `agent ${agent.name} registered`, userId);
    return agent;
  }

  /** @throws {HttpProblem} 404 for an unknown agent. */
  update(workspaceId: string, agentId: string, body: S["UpdateAgentRequest"], userId: string): AgentRecord {
    const a = this.get(workspaceId, agentId);
    const next = this.#store.agents.update(workspaceId, agentId, { ...a, ...body });
    this.#record(next, `agent ${next.name} updated`, userId);
    return next;
  }

  /**
   * Dials the agent's endpoint and answers how that went.
   *
   * @throws {HttpProblem} 404 for an unknown agent, 403 `connection-test-not-allowed` when
   *   the server's policy does not let it dial the endpoint's address.
   */
  async test(workspaceId: string, agentId: string, userId: string): Promise<S["ConnectionTestResult"]> {
    const agent = this.get(workspaceId, agentId);
    let result: S["ConnectionTestResult"];
    try {
      result = await probeEndpoint(agent.endpoint, this.#policy);
    } catch (err) {
      if (err instanceof HttpProblem)
        this.#record(agent, `agent ${agent.name} connection test refused: ${err.message}`, userId);
      throw err;
    }
    this.#record(agent, `agent ${agent.name} connection test: ${result.status}`, userId);
    return result;
  }

  #record(agent: AgentRecord, summary: string, userId: string): void {
    this.#evidence.append(agent.workspaceId, {
      correlationId: agent.agentId,
      category: "System",
      summary,
      actor: userActor(userId),
    });
  }
}
