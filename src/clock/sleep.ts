/**
 * Waits `ms` or until one of `signals` aborts, whichever is first. Never rejects: loops check
 * their own state after waking.
 */
export function sleep(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
  const active = signals.filter((s): s is AbortSignal => s !== undefined);
  if (active.some((s) => s.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const s of active) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    for (const s of active) s.addEventListener('abort', done, { once: true });
  });
}
