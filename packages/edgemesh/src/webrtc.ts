import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import type { OrchestratorService } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import type { SessionKeeper } from "./session.js";

/** The `webrtc` resource of {@link EdgemeshClient}: screen streaming handshakes. */
export class WebRtc {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper) {
    this.#raw = raw;
    this.#session = session;
  }

  /**
   * Starts a screen stream and answers its offer SDP.
   *
   * @throws {FailedPreconditionError} when the device cannot capture its screen (baton-server never can).
   */
  async start(
    options: { targetFps?: number; jpegQuality?: number; monitorIndex?: number } & CallOptions = {},
  ): Promise<{
    /** The stream's id: pass it to `complete()` and `stop()`. */
    streamId: string;
    /** The server's SDP offer; answer it with `complete(streamId, answerSdp)`. */
    sdp: string;
  }> {
    const r = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.startWebRTC(
          {
            sessionId,
            targetFps: options.targetFps ?? 0,
            jpegQuality: options.jpegQuality ?? 0,
            monitorIndex: options.monitorIndex ?? 0,
          },
          connectCallOptions(options),
        ),
      ),
    );
    return { streamId: r.streamId, sdp: r.sdp };
  }

  /** Completes the handshake with the answer SDP. @throws {NotFoundError} for an unknown stream. */
  async complete(streamId: string, sdp: string, options: CallOptions = {}): Promise<void> {
    if (typeof streamId !== "string" || typeof sdp !== "string")
      throw new InvalidArgumentError("complete() needs a stream id and an SDP");
    await callOrThrow(() => this.#raw.completeWebRTC({ streamId, sdp }, connectCallOptions(options)));
  }

  /** Stops a stream. @throws {NotFoundError} for an unknown stream. */
  async stop(streamId: string, options: CallOptions = {}): Promise<void> {
    if (typeof streamId !== "string") throw new InvalidArgumentError("stop() needs a stream id");
    await callOrThrow(() => this.#raw.stopWebRTC({ streamId }, connectCallOptions(options)));
  }
}
