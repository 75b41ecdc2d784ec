import {
  type CallOptions,
  type Connection,
  callOrThrow,
  connectCallOptions,
  FailedPreconditionError,
  InvalidArgumentError,
  int32,
  int64,
  NotFoundError,
  toBatonError,
  UnavailableError,
} from "@baton/core";
import { type OrchestratorService, ReadMode } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import type { SessionKeeper } from "./session.js";

/** A one-time download ticket. */
export interface DownloadTicket {
  /** The one-time token. */
  token: string;
  /** Base file name. */
  filename: string;
  /** File size. */
  sizeBytes: number;
  /** When the ticket stops working. */
  expiresAt: Date;
}

/** How much of a file `read()` returns. */
export type ReadFileMode = "full" | "head" | "tail" | "range";

/** What `read()` answers. */
export interface FileContent {
  /** The bytes. */
  content: Uint8Array;
  /** The whole file's size. */
  sizeBytes: number;
  /** Less than asked for was returned (the size cap). */
  truncated: boolean;
  /** The bytes as text, for display. */
  preview: string;
}

const READ_MODES: Record<ReadFileMode, ReadMode> = {
  full: ReadMode.FULL,
  head: ReadMode.HEAD,
  tail: ReadMode.TAIL,
  range: ReadMode.RANGE,
};

/** The `files` resource of {@link EdgemeshClient}: tickets, bulk downloads and ReadFile. */
export class Files {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #session: SessionKeeper;
  readonly #connection: Connection;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, session: SessionKeeper, connection: Connection) {
    this.#raw = raw;
    this.#session = session;
    this.#connection = connection;
  }

  /**
   * A one-time ticket for a file under the device's file root.
   *
   * @throws {PermissionDeniedError} for a path outside the root (`..`, a symlink out, an absolute path elsewhere).
   * @throws {NotFoundError} for a missing file.
   */
  async createDownloadTicket(path: string, options: CallOptions = {}): Promise<DownloadTicket> {
    if (typeof path !== "string" || path === "") throw new InvalidArgumentError("a path is required");
    const t = await callOrThrow(() => this.#raw.createDownloadTicket({ path }, connectCallOptions(options)));
    return {
      token: t.token,
      filename: t.filename,
      sizeBytes: Number(t.sizeBytes),
      expiresAt: new Date(Number(t.expiresUnixMs)),
    };
  }

  /**
   * Redeems a ticket on the device's bulk HTTP server (`GET /bulk/download/<token>`): a web
   * `ReadableStream` of the file's bytes, which is also an `AsyncIterable`. By default it
   * goes over this client's own connection (baton-server serves bulk HTTP on its gRPC port);
   * `httpAddr` (a device's `httpAddr`) sends it elsewhere.
   *
   * @throws {NotFoundError} for a token never issued.
   * @throws {FailedPreconditionError} for a token already used or expired (HTTP 410).
   */
  async download(
    ticket: DownloadTicket | string,
    options: { httpAddr?: string; signal?: AbortSignal } = {},
  ): Promise<ReadableStream<Uint8Array>> {
    const token = typeof ticket === "string" ? ticket : ticket?.token;
    if (typeof token !== "string" || token === "") throw new InvalidArgumentError("download() needs a ticket");
    const path = `/bulk/download/${encodeURIComponent(token)}`;
    const init = options.signal ? { signal: options.signal } : {};
    let res: Response;
    try {
      res = options.httpAddr
        ? await fetch(
            `${/^https?:\/\//.test(options.httpAddr) ? options.httpAddr : `http://${options.httpAddr}`}${path}`,
            init,
          )
        : await this.#connection.fetch(new Request(`${this.#connection.address.baseUrl}${path}`, init));
    } catch (err) {
      if (options.signal?.aborted) throw toBatonError(err);
      throw new UnavailableError(`bulk download failed: ${String(err)}`, { cause: err });
    }
    if (res.status === 404)
      throw new NotFoundError(`download ticket unknown: ${(await res.text()).trim()}`, { status: 404 });
    if (res.status === 410)
      throw new FailedPreconditionError(`download ticket refused: ${(await res.text()).trim()}`, { status: 410 });
    if (!res.ok || !res.body)
      throw new UnavailableError(`bulk download answered ${res.status}`, { status: res.status });
    return res.body as ReadableStream<Uint8Array>;
  }

  /**
   * Reads a file under the device's root (ReadFile): `full` (from the start), `head`, `tail`
   * (the last `maxBytes`), or `range` (`length` bytes from `offset`).
   *
   * @throws {PermissionDeniedError} outside the root. @throws {NotFoundError} for a missing file.
   * @throws {OutOfRangeError} for a range offset past the end.
   */
  async read(
    path: string,
    options: {
      mode?: ReadFileMode;
      offset?: number;
      length?: number;
      maxBytes?: number;
      deviceId?: string;
    } & CallOptions = {},
  ): Promise<FileContent> {
    if (typeof path !== "string" || path === "") throw new InvalidArgumentError("a path is required");
    const mode = READ_MODES[options.mode ?? "full"];
    if (mode === undefined) throw new InvalidArgumentError(`unknown read mode ${JSON.stringify(options.mode)}`);
    const res = await this.#session.withSession((sessionId) =>
      callOrThrow(() =>
        this.#raw.readFile(
          {
            sessionId,
            deviceId: options.deviceId ?? "",
            path,
            mode,
            maxBytes: int32("maxBytes", options.maxBytes),
            offset: int64("offset", options.offset),
            length: int64("length", options.length),
          },
          connectCallOptions(options),
        ),
      ),
    );
    if (res.error) throw new FailedPreconditionError(res.error);
    return {
      content: res.content,
      sizeBytes: Number(res.sizeBytes),
      truncated: res.truncated,
      preview: res.contentPreview,
    };
  }
}
