import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import type { OrchestratorService } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";

/** The `chatMemory` resource of {@link EdgemeshClient}: chat memory shared across devices. */
export class ChatMemory {
  readonly #raw: Client<typeof OrchestratorService>;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>) {
    this.#raw = raw;
  }

  /**
   * Offers this device's copy; the server keeps whichever is newer (`updatedAt`) and answers
   * the memory it now holds and whether it took yours.
   *
   * @throws {InvalidArgumentError} when `memory` does not serialise to JSON or `updatedAt` is not a valid time.
   */
  async sync(
    input: { deviceId: string; updatedAt: Date | number; memory: unknown },
    options: CallOptions = {},
  ): Promise<{
    /** True when the server took your copy (it was newer); false when it kept its own. */
    updated: boolean;
    /** The memory the server holds now (yours when `updated`), decoded from JSON. */
    memory: unknown;
  }> {
    if (!input || typeof input.deviceId !== "string")
      throw new InvalidArgumentError("sync() needs { deviceId, updatedAt, memory }");
    const memoryJson = JSON.stringify(input.memory);
    if (memoryJson === undefined) throw new InvalidArgumentError("memory must serialise to JSON");
    const at = typeof input.updatedAt === "number" ? input.updatedAt : input.updatedAt?.getTime?.();
    if (typeof at !== "number" || !Number.isFinite(at))
      throw new InvalidArgumentError("updatedAt must be a valid Date or Unix milliseconds");
    const r = await callOrThrow(() =>
      this.#raw.syncChatMemory(
        { deviceId: input.deviceId, lastUpdatedMs: BigInt(Math.floor(at)), memoryJson },
        connectCallOptions(options),
      ),
    );
    return { updated: r.updated, memory: r.memoryJson === "" ? undefined : JSON.parse(r.memoryJson) };
  }

  /** The memory the server holds (undefined when none). */
  async get(options: CallOptions = {}): Promise<unknown> {
    const r = await callOrThrow(() => this.#raw.getChatMemory({}, connectCallOptions(options)));
    return r.memoryJson === "" ? undefined : JSON.parse(r.memoryJson);
  }
}
