import { describe, expect, it } from 'vitest';
import { epochsByReplica, steadySweepsPerTick } from '../../../src/cli/demo/demo-summary.js';
import type { ReplicaEvent } from '../../../src/cli/demo/replica-process.js';

const everyMs = 1000;
const sweep = (replica: string, t: number): ReplicaEvent => ({
  t,
  replica,
  event: 'sweep',
  tick: Math.floor(t / everyMs),
});

describe('steady sweeps per tick', () => {
  it('does not count the tick of a handover, where the stopped leader swept before it stopped', () => {
    // replica-1 sweeps just after each tick boundary, is stopped at 3.5 s; replica-2 is promoted at
    // 3.7 s and sweeps at once, in the same tick.
    const events = [
      sweep('replica-1', 1_005),
      sweep('replica-1', 2_005),
      sweep('replica-1', 3_005),
      sweep('replica-2', 3_700),
      sweep('replica-2', 4_005),
      sweep('replica-2', 5_005),
    ];
    const steady = steadySweepsPerTick(events, everyMs, [
      [1_005, 3_500],
      [3_700, 6_000],
    ]);
    // Term 1: tick 2 (tick 3 had not ended at the fault). Term 2: ticks 4 and 5, not the handover tick 3.
    expect(steady).toEqual([1, 1, 1]);
  });

  it('still sees a steady tick that ran twice or not at all', () => {
    const events = [sweep('replica-1', 1_005), sweep('replica-1', 2_005), sweep('replica-2', 2_500)];
    expect(steadySweepsPerTick(events, everyMs, [[1_005, 5_000]])).toEqual([2, 0, 0]);
  });
});

describe('epochs by replica', () => {
  it('names each epoch by the nearest promotion and skips a lease whose epoch is not written yet', () => {
    const observations = [
      { t: 1_000, holder: 'node-a', epoch: 0, isHeld: true },
      { t: 1_050, holder: 'node-a', epoch: 1, isHeld: true },
      { t: 9_000, holder: 'node-a', epoch: 1, isHeld: false },
      { t: 9_100, holder: 'node-b', epoch: 1, isHeld: true },
      { t: 9_150, holder: 'node-b', epoch: 2, isHeld: true },
    ];
    const events: ReplicaEvent[] = [
      { t: 1_060, replica: 'replica-1', event: 'promoted' },
      { t: 9_160, replica: 'replica-3', event: 'promoted' },
    ];
    expect(epochsByReplica(observations, events)).toEqual([
      { replica: 'replica-1', epoch: 1 },
      { replica: 'replica-3', epoch: 2 },
    ]);
  });
});
