import type { grpcHealth } from "@baton/wire/baaaht";
import type { ServiceImpl } from "@connectrpc/connect";
import { notFound } from "./errors.js";
import type { HealthRules } from "./health-rules.js";

/**
 * `grpc.health.v1.Health` over the {@link HealthRules}: Check answers per service name
 * (NOT_FOUND for unknown names, as the standard says); Watch sends the current status and
 * then every change, SERVICE_UNKNOWN for a name not (yet) known.
 */
export function healthService(rules: HealthRules): ServiceImpl<typeof grpcHealth.Health> {
  return {
    check: (req) => {
      const status = rules.getServingStatus(req.service);
      if (status === undefined) throw notFound(`unknown service ${req.service}`);
      return { status };
    },
    watch: async function* (req, ctx) {
      for await (const status of rules.watch(req.service, ctx.signal)) yield { status };
    },
  };
}
