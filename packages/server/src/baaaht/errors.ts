import { Code, ConnectError } from "@connectrpc/connect";

/** INVALID_ARGUMENT: the request itself is wrong. */
export const invalid = (message: string): ConnectError => new ConnectError(message, Code.InvalidArgument);

/** NOT_FOUND: what the request names does not exist. */
export const notFound = (message: string): ConnectError => new ConnectError(message, Code.NotFound);

/** FAILED_PRECONDITION: the request is fine, the state it meets is not (a closed session...). */
export const precondition = (message: string): ConnectError => new ConnectError(message, Code.FailedPrecondition);

/** PERMISSION_DENIED: a policy forbids it (an image the session does not allow...). */
export const denied = (message: string): ConnectError => new ConnectError(message, Code.PermissionDenied);

/** RESOURCE_EXHAUSTED: a limit is reached (max_containers, resource limits). */
export const exhausted = (message: string): ConnectError => new ConnectError(message, Code.ResourceExhausted);

/** ALREADY_EXISTS: the name is taken. */
export const alreadyExists = (message: string): ConnectError => new ConnectError(message, Code.AlreadyExists);
