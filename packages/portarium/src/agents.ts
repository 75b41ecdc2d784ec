import type { PagedList } from "@baton/core";
import type { components } from "@baton/wire/portarium";
import type { ListOptions, PortariumCallOptions } from "./call.js";
import { Resource } from "./resource.js";

type S = components["schemas"];
/** A registered agent. */
export type Agent = S["AgentV1"];
/** The result of a machine or agent connection test. */
export type ConnectionTestResult = S["ConnectionTestResult"];

const ONE = "/v1/workspaces/{workspaceId}/agents/{agentId}";

/** Registered agents. */
export class AgentsResource extends Resource {
  /** Registers an agent. @throws {InvalidArgumentError} when the endpoint is not a URI. */
  register(body: S["RegisterAgentRequest"], options: PortariumCallOptions = {}): Promise<Agent> {
    return this.call(options, (r) => r.raw.POST("/v1/workspaces/{workspaceId}/agents", { ...r.at({}), body }));
  }

  /** Lists agents, oldest first. */
  list(options: ListOptions = {}): PagedList<Agent> {
    return this.paged(options, (r, query) => r.raw.GET("/v1/workspaces/{workspaceId}/agents", r.at({}, query)));
  }

  /** Gets an agent. @throws {NotFoundError} */
  get(agentId: string, options: PortariumCallOptions = {}): Promise<Agent> {
    return this.call(options, (r) => r.raw.GET(ONE, r.at({ agentId })));
  }

  /** Updates an agent. @throws {NotFoundError} */
  update(agentId: string, body: S["UpdateAgentRequest"], options: PortariumCallOptions = {}): Promise<Agent> {
    return this.call(options, (r) => r.raw.PATCH(ONE, { ...r.at({ agentId }), body }));
  }

  /** Tests the connection to an agent's endpoint. @throws {NotFoundError} */
  test(agentId: string, options: PortariumCallOptions = {}): Promise<ConnectionTestResult> {
    return this.call(options, (r) => r.raw.POST(`${ONE}/test`, r.at({ agentId })));
  }
}
