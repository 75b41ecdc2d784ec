import type { ModuleFactory, ServiceModule } from "../module.js";
import { OrcaService, Orchestrator } from "./service.js";
import { MemoryOrcaStore, type OrcaStore } from "./store.js";

/** The ORCA module: `orca.v1.Orchestrator` over an in-memory store. */
export interface OrcaModule extends ServiceModule {
  /** The service holding the rules. */
  readonly service: OrcaService;
  /** The store holding the state. */
  readonly store: OrcaStore;
}

/** Creates the ORCA module. */
export const createOrcaModule: ModuleFactory = (): OrcaModule => {
  const store = new MemoryOrcaStore();
  const service = new OrcaService(store);
  return {
    name: "orca",
    service,
    store,
    routes(router) {
      router.service(Orchestrator, service.impl());
    },
    close() {
      service.close();
    },
  };
};
