import { createReadStream } from "node:fs";
import { OrchestratorService } from "@baton/wire/edgemesh";
import {
  type AnyRequest,
  type AnyResponse,
  type ModuleContext,
  type ModuleFactory,
  type ServiceModule,
  withSettings,
} from "../module.js";
import { EdgemeshService } from "./service.js";
import { EDGEMESH_SETTING_DECLARATIONS, edgemeshSettings } from "./settings.js";

/** The bulk HTTP download route: `GET /bulk/download/<token>`. */
export const BULK_DOWNLOAD_PREFIX = "/bulk/download/";

/** The edgemesh module: `edgemesh.OrchestratorService` and the bulk HTTP download route. */
export interface EdgemeshModule extends ServiceModule {
  /** The service holding the rules and state. */
  readonly service: EdgemeshService;
}

/**
 * Creates the edgemesh module. At start the server registers itself (real platform, arch
 * and free RAM from `node:os`; its first TCP address as `grpc_addr` and `http_addr`),
 * samples its load every `edgemesh.metricsIntervalMs`, and with `edgemesh.join=ADDR`
 * registers itself with that device and learns its devices, again every
 * `edgemesh.registerIntervalMs`.
 *
 * @throws {Error} when an `edgemesh.*` setting is malformed.
 */
export const createEdgemeshModule: ModuleFactory = withSettings((ctx: ModuleContext): EdgemeshModule => {
  const settings = edgemeshSettings(ctx.options.settings);
  const service = new EdgemeshService(settings, ctx.clock);
  const timers = new Set<() => void>();
  let closed = false;
  const every = (ms: number, fn: () => Promise<void> | void) => {
    const tick = () => {
      timers.delete(cancel);
      if (closed) return;
      void Promise.resolve()
        .then(fn)
        .catch((err: unknown) => ctx.logger.warn("edgemesh: periodic task failed", { error: String(err) }))
        .finally(() => {
          if (!closed) {
            cancel = ctx.clock.setTimer(tick, ms);
            timers.add(cancel);
          }
        });
    };
    let cancel: () => void = ctx.clock.setTimer(tick, ms);
    timers.add(cancel);
  };
  return {
    name: "edgemesh",
    service,
    routes(router) {
      router.service(OrchestratorService, service.impl());
    },
    async start({ addresses }) {
      const addr = addresses.find((a) => !a.startsWith("unix:")) ?? addresses[0] ?? "";
      service.registry.setSelf(service.selfInfo(addr));
      service.sample();
      every(settings.metricsIntervalMs, () => {
        service.sample();
      });
      if (settings.join !== "") {
        const join = async () => service.joinOnce(settings.join);
        try {
          await join();
        } catch (err) {
          ctx.logger.warn("edgemesh: could not join yet; retrying", { join: settings.join, error: String(err) });
        }
        every(settings.registerIntervalMs, join);
      }
    },
    async handleHttp(req: AnyRequest, res: AnyResponse) {
      const url = req.url ?? "";
      if (!url.startsWith(BULK_DOWNLOAD_PREFIX)) return false;
      if (req.method !== "GET") {
        res.writeHead(405, { allow: "GET", "content-type": "text/plain" });
        res.end("method not allowed\n");
        return true;
      }
      let token: string;
      try {
        token = decodeURIComponent(url.slice(BULK_DOWNLOAD_PREFIX.length).split("?")[0] ?? "");
      } catch {
        // Bad percent-encoding (`%E0%A4%A`) names no ticket: the client's error, not ours.
        res.writeHead(400, { "content-type": "text/plain" });
        res.end("malformed download token\n");
        return true;
      }
      const r = service.tickets.redeem(token);
      if ("status" in r) {
        res.writeHead(r.status, { "content-type": "text/plain" });
        res.end(`${r.reason}\n`);
        return true;
      }
      const { ticket } = r;
      await new Promise<void>((resolve) => {
        const stream = createReadStream(ticket.real);
        stream.once("open", () => {
          res.writeHead(200, {
            "content-type": "application/octet-stream",
            "content-length": String(ticket.size),
            "content-disposition": `attachment; filename="${ticket.filename.replace(/["\\\r\n]/g, "_")}"`,
          });
          stream.pipe(res as NodeJS.WritableStream);
        });
        stream.once("error", (err) => {
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
          res.end(`cannot read file: ${err.message}\n`);
          resolve();
        });
        stream.once("end", () => resolve());
      });
      return true;
    },
    async close() {
      closed = true;
      for (const c of timers) c();
      timers.clear();
      await service.close();
    },
  };
}, EDGEMESH_SETTING_DECLARATIONS);
