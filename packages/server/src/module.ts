import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Logger } from "@baton/core";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Clock } from "./clock.js";
import type { SettingDeclaration } from "./settings.js";

/** A request either HTTP version delivers. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** A response of either HTTP version. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** What every service module gets from the server. */
export interface ModuleContext {
  /** Where the module logs. */
  logger: Logger;
  /** Server-wide options (flags), for modules that read their own settings. */
  options: ServerOptionsView;
  /** Where the module reads the time and sets its timers (tests pass a manual clock). */
  clock: Clock;
  /**
   * Aborted when the server's shutdown drain period is over: streams the module serves
   * itself (REST server-sent events) end then, so their clients reconnect. (RPC handlers see
   * it through their `ctx.signal`.) Absent when the module runs outside a server.
   */
  shutdownSignal?: AbortSignal;
}

/** The server options a module may read. */
export interface ServerOptionsView {
  /** `--token`: the bearer token every gRPC call needs, if set. */
  token: string | undefined;
  /**
   * Module settings by key: `--set key=value`, the config file's `settings`, and the
   * dedicated flags (`baaaht.containerRuntime`; `portarium.serviceAccounts`, one
   * `ID:SECRET:WS[,WS]` per line; `portarium.jwtSecret`).
   */
  settings: ReadonlyMap<string, string>;
}

/** What a module learns when the server has started listening. */
export interface ModuleStartInfo {
  /** The addresses the server listens on, as clients dial them (`127.0.0.1:PORT`, `unix:///path`). */
  readonly addresses: readonly string[];
}

/**
 * One orchestrator's contract in the reference server. A module adds gRPC/Connect
 * services to the router, and/or serves REST requests.
 */
export interface ServiceModule {
  /** Short name, e.g. `orca`. */
  readonly name: string;
  /** Registers the module's gRPC/Connect/gRPC-Web services. */
  routes?(router: ConnectRouter): void;
  /**
   * Serves a plain HTTP request (REST). Returns true when it handled the request, false
   * to let the next module (and finally a 404) have it.
   */
  handleHttp?(req: AnyRequest, res: AnyResponse): Promise<boolean>;
  /** Called once the server listens, with the addresses it listens on (as clients dial them). */
  start?(info: ModuleStartInfo): Promise<void> | void;
  /**
   * Called when the server starts shutting down, before any module closes: the module
   * reports itself as going away (health NOT_SERVING, status STOPPING) while the others
   * still serve.
   */
  beginShutdown?(): void;
  /** Releases timers, children and other resources. */
  close?(): Promise<void> | void;
}

/**
 * Creates a module from the server context. A factory may declare the settings its module
 * reads (`--set <module>.<name>=VALUE`): the CLI refuses unknown keys and bad values
 * against them and lists them in `--help`, and the server refuses a key its running
 * modules' declarations lack.
 */
export interface ModuleFactory {
  /** Creates the module. */
  (ctx: ModuleContext): ServiceModule;
  /** The settings the module reads, if it declares them. */
  readonly settings?: readonly SettingDeclaration[];
}

/**
 * A factory with its module's settings declared: returns `factory` itself with `settings`
 * attached, so the CLI can check and list them (see {@link ModuleFactory}).
 *
 * @typeParam F - the factory's own type, kept so callers see its exact signature.
 * @param factory - the module factory.
 * @param settings - the settings the module reads (`declareSettings(...)`).
 *
 * @example
 * ```ts
 * export const myModule = withSettings((ctx) => createMyModule(ctx), declareSettings("my", MY_SETTINGS));
 * ```
 */
export function withSettings<F extends (ctx: ModuleContext) => ServiceModule>(
  factory: F,
  settings: readonly SettingDeclaration[],
): F & {
  /** The settings the module reads. */
  readonly settings: readonly SettingDeclaration[];
} {
  return Object.assign(factory, { settings });
}
