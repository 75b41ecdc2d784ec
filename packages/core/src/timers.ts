/**
 * Lets the process exit while `timer` is pending, as Node's `timer.unref()` does. A no-op
 * where timers are plain numbers (browsers), so heartbeat code runs unchanged in both.
 */
export function unrefTimer(timer: ReturnType<typeof setTimeout> | ReturnType<typeof setInterval>): void {
  (timer as { unref?: () => void }).unref?.();
}
