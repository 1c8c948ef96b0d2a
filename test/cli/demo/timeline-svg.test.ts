import { describe, expect, it } from 'vitest';
import { leaderIntervals } from '../../../src/cli/demo/timeline-svg.js';
import { renderTimelineSvg } from '../../../src/cli/demo/index.js';
import type { DemoSummary } from '../../../src/cli/demo/index.js';

const t0 = 1_000_000;
const at = (s: number): number => t0 + s * 1000;

function timeline(): Pick<DemoSummary, 'timeline' | 'epochs'> {
  return {
    epochs: [
      { replica: 'replica-2', epoch: 1 },
      { replica: 'replica-3', epoch: 2 },
    ],
    timeline: {
      legacy: {
        start: at(0),
        end: at(3),
        events: ['legacy-1', 'legacy-2'].flatMap((replica) => [
          { t: at(1), replica, event: 'sweep', tick: 1 },
          { t: at(2), replica, event: 'sweep', tick: 2 },
        ]),
      },
      migrated: {
        start: at(0),
        end: at(30),
        marks: [{ t: at(6), label: 'kill -9 replica-2' }],
        events: [
          { t: at(1), replica: 'replica-2', event: 'promoted' },
          { t: at(2), replica: 'replica-2', event: 'sweep', tick: 2 },
          { t: at(6), replica: 'replica-2', event: 'killed' },
          { t: at(21), replica: 'replica-3', event: 'promoted' },
          { t: at(22), replica: 'replica-3', event: 'sweep', tick: 22 },
          { t: at(5), replica: 'replica-1', event: 'ready' },
        ],
      },
    },
  };
}

describe('the demo timeline', () => {
  it('turns promotions and the kill into leader intervals that do not overlap', () => {
    const intervals = leaderIntervals(timeline().timeline.migrated.events, at(30));
    expect(intervals).toEqual([
      { replica: 'replica-2', from: at(1), to: at(6) },
      { replica: 'replica-3', from: at(21), to: at(30) },
    ]);
  });

  it('draws one bar per leader term with its epoch, one dot per sweep, and the fault marks', () => {
    const svg = renderTimelineSvg(timeline());
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain('<title>replica-2 master 1.0–6.0 s</title>');
    expect(svg).toContain('<title>replica-3 master 21.0–30.0 s</title>');
    expect(svg).toContain('>epoch 1<');
    expect(svg).toContain('>epoch 2<');
    expect(svg.match(/class="sweep"/g)).toHaveLength(6);
    expect(svg).toContain('kill -9 replica-2');
    expect(svg).toContain('Before: multicast not carried');
    // Every replica gets a row, even one that never led.
    expect(svg).toContain('>replica-1<');
  });
});
