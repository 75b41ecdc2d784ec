/**
 * The baaaht seed's "Health Checks" walkthrough: grpc.health.v1 Check for the server and
 * each service (the seed asks for "orchestrator"), a Watch, and the orchestrator's own
 * HealthCheck and GetStatus (which say which container runtime baton-server uses).
 */
import { BaaahtClient } from "@baton/baaaht";
import { Health } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();
for (const service of [
  "",
  "orchestrator",
  "orchestrator.v1.OrchestratorService",
  "agent.v1.AgentService",
  "gateway.v1.GatewayService",
]) {
  const status = await baaaht.health.check(service);
  console.log(`Check(${JSON.stringify(service)}): ${status}`);
  if (service === "orchestrator" && status === "SERVING") console.log("Service is healthy");
}
for await (const status of baaaht.health.watch("orchestrator.v1.OrchestratorService")) {
  console.log(`Watch: ${status}`);
  break;
}
const h = await baaaht.orchestratorHealth();
console.log(`orchestrator HealthCheck: ${Health[h.health]} ${h.version}; ${h.subsystems.join("; ")}`);
const s = await baaaht.status();
console.log(`GetStatus: ${s.activeSessions} active sessions, ${s.activeContainers} running containers`);
await baaaht.close();
