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

/** Options of {@link orcaModule}. */
export interface OrcaModuleOptions {
  /**
   * The store (default: a new in-memory one, bounded by the `orca.*` settings). A server
   * started with the store of one that was closed carries on with its runs and events, as a
   * restart with persistent state does.
   */
  store?: OrcaStore;
}

/**
 * A factory of the ORCA module over a store of the caller's, bounded by the `orca.*`
 * settings (see {@link orcaSettings}) and timed by the server's clock.
 *
 * @example
 * const store = new MemoryOrcaStore();
 * const first = await startServer({ modules: [orcaModule({ store })] });
 * await first.close();
 * const second = await startServer({ modules: [orcaModule({ store })] }); // same runs and events
 * @throws {Error} (when the server starts it) when an `orca.*` setting is malformed.
 */
export function orcaModule(options: OrcaModuleOptions = {}): ModuleFactory {
  return withSettings((ctx: ModuleContext): OrcaModule => {
    const settings = orcaSettings(ctx.options.settings);
    const store = options.store ?? new MemoryOrcaStore(settings);
    const service = new OrcaService(store, {
      clock: ctx.clock,
      maxTasksPerRun: settings.maxTasksPerRun,
      maxRuns: settings.maxRuns,
    });
    return buildOrcaModule(store, service);
  }, ORCA_SETTING_DECLARATIONS);
}

/**
 * Creates the ORCA module over a new in-memory store.
 *
 * @throws {Error} when an `orca.*` setting is malformed.
 */
export const createOrcaModule: ModuleFactory = orcaModule();

function buildOrcaModule(store: OrcaStore, service: OrcaService): OrcaModule {
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
}
