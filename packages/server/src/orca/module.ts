import { type ModuleContext, type ModuleFactory, type ServiceModule, withSettings } from "../module.js";
import { OrcaService, Orchestrator } from "./service.js";
import { ORCA_SETTING_DECLARATIONS, orcaSettings } from "./settings.js";
import { MemoryOrcaStore, type OrcaStore } from "./store.js";

/** The ORCA module: `orca.v1.Orchestrator` over an in-memory store. */
export interface OrcaModule extends ServiceModule {
  /** The service holding the rules. */
  readonly service: OrcaService;
  /** The store holding the state. */
  readonly store: OrcaStore;
}

/**
 * Creates the ORCA module, bounded by the `orca.*` settings (see {@link orcaSettings}) and
 * timed by the server's clock.
 *
 * @throws {Error} when an `orca.*` setting is malformed.
 */
export const createOrcaModule: ModuleFactory = withSettings((ctx: ModuleContext): OrcaModule => {
  const settings = orcaSettings(ctx.options.settings);
  const store = new MemoryOrcaStore(settings);
  const service = new OrcaService(store, {
    clock: ctx.clock,
    maxTasksPerRun: settings.maxTasksPerRun,
    maxRuns: settings.maxRuns,
  });
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
}, ORCA_SETTING_DECLARATIONS);
