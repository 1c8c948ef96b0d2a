import v8 from 'node:v8';
import { peakRss } from './peak-rss.js';
import type { ChildReport } from './memory-child.js';

/**
 * Samples V8's heapUsed every `intervalMs` the event loop is free (and whenever `sample()` is
 * called), keeping the highest. `used_heap_size` is what `process.memoryUsage().heapUsed` reports,
 * without reading /proc for the RSS on every sample. The timer is unref'd: it never keeps a program
 * alive.
 */
export function sampleHeapPeak(intervalMs = 5): { sample(): void; stop(): void; readonly peakBytes: number } {
  let peakBytes = v8.getHeapStatistics().used_heap_size;
  const sample = (): void => {
    const used = v8.getHeapStatistics().used_heap_size;
    if (used > peakBytes) peakBytes = used;
  };
  const timer = setInterval(sample, intervalMs).unref();
  return {
    sample,
    stop: () => clearInterval(timer),
    get peakBytes() {
      return peakBytes;
    },
  };
}

/** Node's `gc`, which the memory children need (`node --expose-gc`); `who` names the file that asks. */
export function exposedGc(who: string): () => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error(`${who} needs node --expose-gc`);
  return gc;
}

/**
 * The end of a memory child's run: a last sample, a forced full GC, and the {@link ChildReport}
 * with the peaks and what is still live.
 */
export function finalReport(
  sampler: ReturnType<typeof sampleHeapPeak>,
  gc: () => void,
  rest: Pick<ChildReport, 'maxCheckpointLiveBytes' | 'medianCheckpointLiveBytes' | 'files' | 'matches'>,
): ChildReport {
  sampler.stop();
  sampler.sample();
  gc();
  return {
    ...peakRss(),
    peakHeapBytes: sampler.peakBytes,
    liveHeapBytes: v8.getHeapStatistics().used_heap_size,
    ...rest,
  };
}
