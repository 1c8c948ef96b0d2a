/**
 * An AbortSignal that fires after `timeoutMs` or when `parent` aborts, whichever is first. Every
 * storage call on a safety path gets one, so no call can outlast the lease it is protecting.
 */
export function deadlineSignal(timeoutMs: number, parent?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
  return parent ? AbortSignal.any([timeout, parent]) : timeout;
}
