import { readFileSync } from 'node:fs';
import { resourceUsage } from 'node:process';

/**
 * This process's peak resident set so far, in KiB: Linux's `VmHWM` (the kernel's high-water mark,
 * exact), else `maxRSS` from getrusage; with `maxRSS` beside it, which the two child kinds of the
 * memory benches both report.
 */
export function peakRss(): { peakRssKiB: number; maxRssKiB: number } {
  const highWater = /^VmHWM:\s*(\d+) kB$/m.exec(
    process.platform === 'linux' ? readFileSync('/proc/self/status', 'utf8') : '',
  );
  const maxRssKiB = resourceUsage().maxRSS;
  return { peakRssKiB: highWater ? Number(highWater[1]) : maxRssKiB, maxRssKiB };
}
