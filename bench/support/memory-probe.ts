/**
 * Preloaded into a program that a bench starts the way its users start it (the `gossipless` bin):
 *
 *   MEMORY_PROBE_REPORT=<file> node --expose-gc --import <memory-probe.mjs> <program> [args…]
 *
 * so the program runs as its own main module, applies its own settings first and writes its own
 * output, and the probe only watches: it samples V8's heapUsed as memory-child.ts does and, when the
 * process exits, writes a {@link ChildReport} to the file (files and matches 0: the bench reads those
 * from the program's output). It imports only Node built-ins (and heap-sampler.ts) and allocates next to nothing.
 */
import { writeFileSync } from 'node:fs';
import { exposedGc, finalReport, sampleHeapPeak } from './heap-sampler.js';

const reportFile = process.env.MEMORY_PROBE_REPORT;
if (reportFile === undefined) throw new Error('memory-probe.ts needs MEMORY_PROBE_REPORT=<file>');
const gc = exposedGc('memory-probe.ts');
const sampler = sampleHeapPeak();

process.on('exit', () => {
  const report = finalReport(sampler, gc, {
    maxCheckpointLiveBytes: 0,
    medianCheckpointLiveBytes: 0,
    files: 0,
    matches: 0,
  });
  writeFileSync(reportFile, `${JSON.stringify(report)}\n`);
});
