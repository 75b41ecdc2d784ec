import { InvalidArgumentError } from "./errors.js";

/** Where a server is, parsed from one of the address forms Baton accepts. */
export interface ParsedAddress {
  /** The base URL requests are made against (`http://host:port` or `https://host:port`). */
  baseUrl: string;
  /** Whether the connection uses TLS. */
  secure: boolean;
  /** Host name to connect to (for TCP); `localhost` for Unix sockets. */
  host: string;
  /** TCP port, where the address has one. */
  port: number | undefined;
  /** Path of the Unix domain socket, for `unix://` addresses. */
  socketPath: string | undefined;
}

/**
 * Parses a server address: `host:port` (plaintext, as gRPC tools write it),
 * `http://host:port`, `https://host:port`, or `unix:///absolute/path.sock`
 * (also `unix:/path` and `unix:path`, as gRPC accepts).
 *
 * @throws {InvalidArgumentError} when the address has none of these forms.
 */
export function parseAddress(address: string, opts: { secure?: boolean } = {}): ParsedAddress {
  const text = address.trim();
  if (text.startsWith("unix:")) {
    let path = text.slice("unix:".length);
    if (path.startsWith("//")) path = path.slice(2);
    if (path === "") throw new InvalidArgumentError(`unix address has no socket path: ${address}`);
    return {
      baseUrl: `${opts.secure ? "https" : "http"}://localhost`,
      secure: opts.secure ?? false,
      host: "localhost",
      port: undefined,
      socketPath: decodeURIComponent(path),
    };
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${opts.secure ? "https" : "http"}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidArgumentError(
      `not a valid address: ${address} (use host:port, http(s)://host:port or unix:///path)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidArgumentError(`unsupported scheme in address ${address}: use http, https or unix`);
  }
  if (url.hostname === "") throw new InvalidArgumentError(`address has no host: ${address}`);
  const secure = url.protocol === "https:";
  const port = url.port === "" ? undefined : Number(url.port);
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "");
  return {
    baseUrl: `${url.protocol}//${url.host}${path}`,
    secure,
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    socketPath: undefined,
  };
}
