/**
 * Heap readings for the benches' memory tables: `heapUsed` after a forced full GC, so a reading is
 * what is still reachable, not garbage the collector has not got to yet. Needs `node --expose-gc`
 * (the `bench:*` npm scripts pass it).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Heap in use after forced full collections. Throws, naming the flag, when `gc` is not exposed. */
export async function gcHeapUsed(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    throw new Error(
      'memory figures need a forced GC: run the bench with `node --expose-gc` (npm run bench:*)',
    );
  }
  // Let pending callbacks and promise jobs finish first; then collect twice, since a first pass can
  // leave objects whose finalizers or weak callbacks only free them on the next one.
  await nextTurn();
  gc();
  await nextTurn();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Bytes as MiB with one decimal; signed when `signed` (a difference). */
export function mib(bytes: number, signed = false): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const text = `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return signed && bytes >= 0 ? `+${text}` : text;
}

/** Bytes with no decimals and thousands separators, e.g. `1,234 B`. */
export function bytes(n: number): string {
  return Number.isFinite(n) ? `${Math.round(n).toLocaleString('en-US')} B` : 'n/a';
}
