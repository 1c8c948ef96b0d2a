/**
 * Resolves when `predicate` holds, polling every `intervalMs` (25 ms; a bench timing deliveries
 * polls more often); rejects after `timeoutMs`.
 */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what = 'condition',
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
