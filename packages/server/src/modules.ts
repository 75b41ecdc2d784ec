import { createBaaahtModule } from "./baaaht/module.js";
import { createEdgemeshModule } from "./edgemesh/module.js";
import type { ModuleFactory } from "./module.js";
import { createOrcaModule } from "./orca/module.js";
import { createPortariumModule } from "./portarium/module.js";
import { createReflectionModule } from "./reflection/module.js";
import { createStratavoreModule } from "./stratavore/module.js";

/**
 * Every contract the reference server speaks, in the order REST routes are tried, and gRPC
 * server reflection last (it describes the services the others registered).
 */
export const defaultModules: ModuleFactory[] = [
  createOrcaModule,
  createPortariumModule,
  createBaaahtModule,
  createEdgemeshModule,
  createStratavoreModule,
  createReflectionModule,
];
