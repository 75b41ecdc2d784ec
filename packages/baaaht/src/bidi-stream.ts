import { DuplexStream, type DuplexStreamOptions } from "./duplex.js";

/**
 * The common part of the chat streams (sessions' StreamMessages, the gateway's StreamChat):
 * a {@link DuplexStream} with `ready`, `end()`, `cancel()` and `for await`. Subclasses add
 * the `send` verbs of their protocol.
 */
export abstract class BidiStream<Req, Res, Item> implements AsyncIterable<Item> {
  /** The underlying stream; subclasses send their frames on it. */
  protected readonly duplex: DuplexStream<Req, Res, Item>;

  /** @internal */
  protected constructor(options: DuplexStreamOptions<Req, Res, Item>) {
    this.duplex = new DuplexStream(options);
  }

  /** Resolves once the server has attached the stream; rejects when it refused it. */
  get ready(): Promise<void> {
    return this.duplex.ready;
  }

  /** Half-closes: nothing more is sent; what the server still sends keeps coming. */
  end(): void {
    this.duplex.end();
  }

  /** Cancels the call; the iteration ends quietly. Idempotent. */
  cancel(): void {
    this.duplex.cancel();
  }

  /**
   * What the server sends, heartbeats hidden; `break` cancels the call.
   *
   * @throws {BatonError} when the stream fails; {@link CanceledError} when the signal aborted it.
   */
  [Symbol.asyncIterator](): AsyncIterator<Item> {
    return this.duplex[Symbol.asyncIterator]();
  }
}
