/**
 * Whether `image` is in a session's allowed list: the same reference, the same repository
 * when the entry names no tag or digest, or `*`.
 *
 * @example
 * imageAllowed("alpine:3.19", ["alpine"]); // true
 * imageAllowed("python:3.12", ["python:3.11"]); // false
 */
export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  const repo = image.replace(/[:@][^/]*$/, "");
  return allowed.some((a) => a === "*" || a === image || (!/[:@][^/]*$/.test(a) && a === repo));
}
