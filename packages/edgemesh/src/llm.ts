import { type CallOptions, callOrThrow, connectCallOptions, InternalError, InvalidArgumentError } from "@baton/core";
import type { OrchestratorService } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import type { SessionKeeper } from "./session.js";

/** A local model's answer. */
export interface LlmResult {
  /** Generated text. */
  output: string;
  /** The model that answered. */
  modelUsed: string;
  /** Tokens generated (approximate). */
  tokensGenerated: number;
}

/** Where an AI task ran and what it answered. */
export interface AiTaskResult {
  /** The device chosen. */
  deviceId: string;
  /** Its address. */
  deviceAddr: string;
  /** It has an NPU. */
  usedNpu: boolean;
  /** The answer. */
  result: string;
}

/** The `llm` resource of {@link EdgemeshClient}: the device's local model and routed AI tasks. */
export class Llm {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper) {
    this.#raw = raw;
    this.#session = session;
  }

  /**
   * Runs a prompt on the server's local model (RunLLMTask).
   *
   * @throws {FailedPreconditionError} when the device has no local model.
   */
  async runLlmTask(
    prompt: string,
    options: { model?: string; maxTokens?: number } & CallOptions = {},
  ): Promise<LlmResult> {
    if (typeof prompt !== "string" || prompt === "") throw new InvalidArgumentError("a prompt is required");
    const r = await callOrThrow(() =>
      this.#raw.runLLMTask(
        { prompt, model: options.model ?? "", maxTokens: options.maxTokens ?? 0 },
        connectCallOptions(options),
      ),
    );
    if (r.error) throw new InternalError(r.error);
    return { output: r.output, modelUsed: r.modelUsed, tokensGenerated: Number(r.tokensGenerated) };
  }

  /**
   * Runs a task (`SYSINFO`, `ECHO`, `LLM_GENERATE`) on the device the server picks (NPU
   * first; a device with a local model for LLM_GENERATE) (RunAITask).
   *
   * @throws {FailedPreconditionError} when no device can run it.
   */
  async runAiTask(task: string, input = "", options: CallOptions = {}): Promise<AiTaskResult> {
    if (typeof task !== "string" || task === "") throw new InvalidArgumentError("a task kind is required");
    const r = await this.#session.withSession((sessionId) =>
      callOrThrow(() => this.#raw.runAITask({ sessionId, task, input }, connectCallOptions(options))),
    );
    return { deviceId: r.selectedDeviceId, deviceAddr: r.selectedDeviceAddr, usedNpu: r.wouldUseNpu, result: r.result };
  }
}
