/**
 * `@baton/server`: the Baton reference server. One process speaking every orchestrator
 * contract with real state and rules, for examples, tests and local development.
 *
 * @packageDocumentation
 */
export { bearerAuthInterceptor, safeEqual } from "./auth.js";
export { type AgentMessageListener, AgentMessagingRules } from "./baaaht/agent-messaging-rules.js";
export { type AgentCounts, AgentRegistryRules, type OfflineListener } from "./baaaht/agent-registry-rules.js";
export { type AgentParts, agentService } from "./baaaht/agent-service.js";
export { CHAT_CAPABILITY, ChatRules, FINAL_HEADER, IN_REPLY_TO_HEADER, SESSION_LABEL } from "./baaaht/chat-rules.js";
export { ContainerRules } from "./baaaht/container-rules.js";
export { matchesEvent, matchesGatewayEvent } from "./baaaht/event-filters.js";
export { type ReplayOptions, replayThenFollow } from "./baaaht/event-replay.js";
export { type GatewayParts, gatewayService } from "./baaaht/gateway-service.js";
export { GatewaySessionRules } from "./baaaht/gateway-session-rules.js";
export { BAAAHT_HEALTH_SERVICES, type HealthProbe, HealthRules } from "./baaaht/health-rules.js";
export { healthService } from "./baaaht/health-service.js";
export { imageAllowed } from "./baaaht/image-policy.js";
export { MessageRules } from "./baaaht/message-rules.js";
export { type BaaahtModule, type BaaahtModuleOptions, baaahtModule, createBaaahtModule } from "./baaaht/module.js";
export { type OrchestratorParts, orchestratorService } from "./baaaht/orchestrator-service.js";
export {
  type ContainerExit,
  type ContainerRuntime,
  createRuntime,
  ProcessRuntime,
  type ProcessRuntimeOptions,
  RecordRuntime,
  type RuntimeHealth,
} from "./baaaht/runtime.js";
export { isOpen, type SessionCloser, SessionRules } from "./baaaht/session-rules.js";
export {
  BAAAHT_SETTING_DECLARATIONS,
  type BaaahtSettings,
  baaahtSettings,
  DEFAULT_BAAAHT_SETTINGS,
} from "./baaaht/settings.js";
export { BaaahtState } from "./baaaht/state.js";
export { StatusRules, type StatusSources } from "./baaaht/status-rules.js";
export { type BaaahtStore, MemoryBaaahtStore } from "./baaaht/store.js";
export { TaskRules } from "./baaaht/task-rules.js";
export { supportsTask, TERMINAL_TASK, taskTypeName } from "./baaaht/task-types.js";
export { BAAAHT_SERVER_VERSION, CONTAINER_RUNTIME_HEADER } from "./baaaht/version.js";
export {
  type CliOptions,
  cliLogger,
  DEFAULT_GRPC_SOCKET_PATH,
  DEFAULT_TCP_LISTEN,
  envName,
  type LogFormat,
  type LogLevel,
  main,
  parseCli,
  USAGE,
  VERSION,
} from "./cli.js";
export { type Clock, isoNow, ManualClock, systemClock } from "./clock.js";
export {
  type ConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
  MAX_DRAIN_BYTES,
  MAX_HEADER_BYTES,
  resolveConnectionLimits,
} from "./connection-limits.js";
export {
  createJwtSigner,
  createJwtVerifier,
  type JwtFailure,
  type JwtSigner,
  JwtVerificationError,
  type JwtVerifier,
  type JwtVerifierOptions,
  readKeyFile,
} from "./jwt-verifier.js";
export { KeyedMutex } from "./keyed-mutex.js";
export { type Handler, type Listener, listen, type ServerTlsOptions, type StreamHandler } from "./listen.js";
export type {
  AnyRequest,
  AnyResponse,
  ModuleContext,
  ModuleFactory,
  ServerOptionsView,
  ServiceModule,
} from "./module.js";
export { withSettings } from "./module.js";
export { defaultModules } from "./modules.js";
export { Notifier } from "./notifier.js";
export { createOrcaModule, type OrcaModule, type OrcaModuleOptions, orcaModule } from "./orca/module.js";
export {
  ERROR_DOMAIN as ORCA_ERROR_DOMAIN,
  FOLLOW_HEADER,
  OrcaService,
  type OrcaServiceOptions,
  PROTOCOL_VERSION,
  Reason as OrcaErrorReason,
  WARNING_RATIO,
} from "./orca/service.js";
export {
  DEFAULT_ORCA_SETTINGS,
  MAX_TIMEOUT_MS as ORCA_MAX_TIMEOUT_MS,
  type OrcaSettings,
  orcaSettings,
} from "./orca/settings.js";
export {
  type EventWindow,
  MemoryOrcaStore,
  type OrcaRetention,
  type OrcaStore,
  type RunBudget,
  type RunRecord,
} from "./orca/store.js";
export { type AgentActionOutput, AgentActionService } from "./portarium/agent-action-service.js";
export { AgentService } from "./portarium/agent-service.js";
export { ApprovalService } from "./portarium/approval-service.js";
export {
  ConnectionTestPolicy,
  isPublicAddress,
  PROBE_TIMEOUT_MS,
  probeEndpoint,
  type Resolve,
  SLOW_MS,
} from "./portarium/connection-probe.js";
export { type EvidenceFilter, type EvidenceInit, EvidenceLog } from "./portarium/evidence-log.js";
export { HttpProblem, MAX_BODY_BYTES, MAX_JSON_DEPTH, PROBLEM_TYPE_BASE } from "./portarium/http.js";
export { checkActionInput, type InvocationStep, invocationPlan } from "./portarium/invocation-plan.js";
export { type InvocationEvent, InvocationRunner, type InvocationSink } from "./portarium/invocation-runner.js";
export { InvocationService } from "./portarium/invocation-service.js";
export { JWT_ISSUER, type PortariumClaims } from "./portarium/jwt.js";
export { MachineService } from "./portarium/machine-service.js";
export { createPortariumModule, type PortariumModule } from "./portarium/module.js";
export { OpenApiSchema, type OperationDef } from "./portarium/openapi.js";
export {
  type EventStreamReply,
  type JsonReply,
  type OperationEntry,
  type OperationHandler,
  type OperationRequest,
  operation,
  type Reply,
} from "./portarium/operation.js";
export { portariumOperations } from "./portarium/operations.js";
export { decodeCursor, encodeCursor, type ListPage, type PageQuery } from "./portarium/paging.js";
export { PortariumService, type PortariumServiceOptions } from "./portarium/portarium-service.js";
export { PortariumRestHandler } from "./portarium/rest-handler.js";
export { PortariumRouter, type RoutedOperation, type RouteMatch } from "./portarium/router.js";
export { RunService } from "./portarium/run-service.js";
export { parseServiceAccounts, type ServiceAccount } from "./portarium/service-accounts.js";
export {
  DEFAULT_PORTARIUM_SETTINGS,
  PORTARIUM_MODULE_SETTINGS,
  PORTARIUM_SETTING_DECLARATIONS,
  type PortariumSettings,
  portariumSettings,
} from "./portarium/settings.js";
export {
  MemoryPortariumStore,
  type PortariumRetention,
  type PortariumStore,
  type Table,
  type TableRetention,
} from "./portarium/store.js";
export { TokenIssuer } from "./portarium/tokens.js";
export { WorkflowService } from "./portarium/workflow-service.js";
export { WorkspaceService } from "./portarium/workspace-service.js";
export { DescriptorIndex } from "./reflection/descriptor-index.js";
export { answerReflection, createReflectionModule, REFLECTION_SERVICES } from "./reflection/module.js";
export { type Refusal, type RefusalResponse, renderRefusal, type WireProtocol, wireProtocolOf } from "./refusal.js";
export {
  createRequestHandler,
  type RequestHandler,
  type RequestHandlerOptions,
  type RequestStats,
} from "./request-handler.js";
export { droppedLogMethod, dropsInfo } from "./request-log.js";
export {
  type BatonServer,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_SEND_MESSAGE_BYTES,
  type ServerOptions,
  type ServerStats,
  startServer,
} from "./server.js";
export {
  booleanSetting,
  checkSettings,
  choiceSetting,
  declareSettings,
  listSetting,
  type NumberSettingOptions,
  numberSetting,
  type ReadSettingsOptions,
  readSettings,
  type Setting,
  type SettingDeclaration,
  type SettingTable,
  type SettingValues,
  settingsHelp,
  textSetting,
} from "./settings.js";
export { DEFAULT_SHUTDOWN_TIMEOUT_MS, SHUTTING_DOWN_MESSAGE } from "./shutdown.js";
export { Role as StratavoreRole, type RoleName as StratavoreRoleName, rolesOf } from "./stratavore/auth.js";
export { Reason as StratavoreErrorReason } from "./stratavore/errors.js";
export { createStratavoreModule, type StratavoreModule } from "./stratavore/module.js";
export { ProcessRuntime as StratavoreProcessRuntime, transcriptLine } from "./stratavore/process-runtime.js";
export {
  type ExitInfo as StratavoreExitInfo,
  RecordRuntime as StratavoreRecordRuntime,
  type RunnerRuntime,
  type RunnerSpec,
  type RuntimeEvents,
} from "./stratavore/runtime.js";
export {
  DEFAULT_MODELS as STRATAVORE_DEFAULT_MODELS,
  STRATAVORE_SETTING_DECLARATIONS,
  type StratavoreSettings,
  stratavoreSettings,
} from "./stratavore/settings.js";
