import type { DemoSummary } from './demo-summary.js';
import type { ReplicaEvent } from './replica-process.js';

const ROW = 34;
const LEFT = 150;
const WIDTH = 1000;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Leader intervals per replica from promoted/demoted lines (open intervals end at `end`). */
export function leaderIntervals(
  events: ReplicaEvent[],
  end: number,
): Array<{ replica: string; from: number; to: number }> {
  const open = new Map<string, number>();
  const out: Array<{ replica: string; from: number; to: number }> = [];
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    if (e.event === 'promoted' && !open.has(e.replica)) open.set(e.replica, e.t);
    if ((e.event === 'demoted' || e.event === 'killed' || e.event === 'stopped') && open.has(e.replica)) {
      out.push({ replica: e.replica, from: open.get(e.replica)!, to: e.t });
      open.delete(e.replica);
    }
  }
  for (const [replica, from] of open) out.push({ replica, from, to: end });
  return out;
}

function panel(
  title: string,
  labels: string[],
  y0: number,
  replicas: string[],
  start: number,
  end: number,
  events: ReplicaEvent[],
  leaders: Array<{ replica: string; from: number; to: number }>,
  marks: Array<{ t: number; label: string }>,
): string {
  const x = (t: number): number => LEFT + ((t - start) / Math.max(1, end - start)) * (WIDTH - LEFT - 20);
  const parts: string[] = [];
  parts.push(`<text x="10" y="${y0 + 16}" class="title">${escape(title)}</text>`);
  replicas.forEach((replica, i) => {
    const y = y0 + 30 + i * ROW;
    parts.push(`<text x="10" y="${y + 16}" class="label">${escape(replica)}</text>`);
    parts.push(`<line x1="${LEFT}" y1="${y + 12}" x2="${WIDTH - 20}" y2="${y + 12}" class="axis"/>`);
    for (const l of leaders.filter((l) => l.replica === replica)) {
      const label = labels[leaders.indexOf(l)];
      if (label)
        parts.push(
          `<text x="${(x(l.from) + 3).toFixed(1)}" y="${y - 1}" class="epoch">${escape(label)}</text>`,
        );
      parts.push(
        `<rect x="${x(l.from).toFixed(1)}" y="${y + 2}" width="${Math.max(1, x(l.to) - x(l.from)).toFixed(1)}" height="20" class="leader"><title>${escape(replica)} master ${((l.from - start) / 1000).toFixed(1)}–${((l.to - start) / 1000).toFixed(1)} s</title></rect>`,
      );
    }
    for (const e of events.filter((e) => e.replica === replica && e.event === 'sweep')) {
      parts.push(
        `<circle cx="${x(e.t).toFixed(1)}" cy="${y + 12}" r="4" class="sweep"><title>sweep tick ${e.tick ?? '?'} at ${((e.t - start) / 1000).toFixed(1)} s</title></circle>`,
      );
    }
  });
  const bottom = y0 + 30 + replicas.length * ROW;
  for (const m of marks) {
    parts.push(
      `<line x1="${x(m.t).toFixed(1)}" y1="${y0 + 24}" x2="${x(m.t).toFixed(1)}" y2="${bottom}" class="mark"/>`,
    );
    parts.push(
      `<text x="${(x(m.t) + 4).toFixed(1)}" y="${y0 + 30}" class="marklabel">${escape(m.label)}</text>`,
    );
  }
  for (let s = 0; s <= (end - start) / 1000; s += 5) {
    parts.push(`<text x="${x(start + s * 1000).toFixed(1)}" y="${bottom + 14}" class="tick">${s}s</text>`);
  }
  return parts.join('\n');
}

/**
 * The demo's timeline: who was master when (bars) and which replica ran each sweep (dots), before
 * and after the migration, with the kill -9 and SIGTERM marked.
 */
export function renderTimelineSvg(summary: Pick<DemoSummary, 'timeline' | 'epochs'>): string {
  const { legacy, migrated } = summary.timeline;
  const names = (events: ReplicaEvent[]): string[] => [...new Set(events.map((e) => e.replica))].sort();
  const legacyReplicas = names(legacy.events);
  const migratedReplicas = names(migrated.events);
  const legacyHeight = 50 + legacyReplicas.length * ROW;
  const height = legacyHeight + 60 + migratedReplicas.length * ROW + 40;
  const legacyLeaders = legacyReplicas.map((replica) => ({ replica, from: legacy.start, to: legacy.end }));
  const epochs = summary.epochs.map((e) => `${e.replica}: epoch ${e.epoch}`).join(', ');
  const migratedLeaders = leaderIntervals(migrated.events, migrated.end).sort((a, b) => a.from - b.from);
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<style>
.title{font-size:15px;font-weight:bold} .label{font-size:13px} .tick{font-size:10px;fill:#666}
.axis{stroke:#ccc} .leader{fill:#f4b942;opacity:.55} .sweep{fill:#1f6feb}
.mark{stroke:#d1242f;stroke-dasharray:4 3} .epoch{font-size:10px;fill:#8a5a00} .marklabel{font-size:11px;fill:#d1242f} .legend{font-size:11px;fill:#444}
</style>
<rect width="100%" height="100%" fill="white"/>
${panel('Before: multicast not carried, every replica is master and sweeps', [], 0, legacyReplicas, legacy.start, legacy.end, legacy.events, legacyLeaders, [])}
${panel(
  `After gossipless: one lease holder sweeps (${epochs})`,
  migratedLeaders.map((_, i) => (summary.epochs[i] ? `epoch ${summary.epochs[i]!.epoch}` : '')),
  legacyHeight + 20,
  migratedReplicas,
  migrated.start,
  migrated.end,
  migrated.events,
  migratedLeaders,
  migrated.marks,
)}
<text x="10" y="${height - 8}" class="legend">bars: master (lease holder after migration) · dots: retention sweeps · dashed: faults injected</text>
</svg>
`;
}
