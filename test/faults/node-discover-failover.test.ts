import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.js';
import { uniqueName } from '../helpers/storage.js';
import { bundleNodeScript } from '../support/node-bundle.js';

interface Line {
  event: string;
  name: string;
  t: number;
  epoch?: number;
  reason?: string;
  holder?: string;
}

// Bundled: it starts in well under a second on a loaded machine, where tsx took 15–60 s.
const worker = bundleNodeScript(resolve(import.meta.dirname, 'discover-worker.ts'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function startWorker(cluster: string, name: string, lines: Line[]): ChildProcess {
  const child = spawn(process.execPath, [worker, cluster, name, inject('azuriteConnectionString')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Line);
    } catch {
      // Not ours (a warning printed by a dependency): ignore.
    }
  });
  return child;
}

describe('node-discover shim across processes on Azurite', () => {
  it('has exactly one promotion holder at a time across kill -9 and graceful stop', async () => {
    const cluster = uniqueName('ndf');
    const lines: Line[] = [];
    const workers = new Map(['n1', 'n2', 'n3'].map((name) => [name, startWorker(cluster, name, lines)]));
    const promotions = () => lines.filter((l) => l.event === 'promotion');
    const killedAt = new Map<string, number>();

    await waitFor(() => promotions().length === 1, 30_000, 'a first master');
    const first = promotions()[0]!.name;
    // The others learn who leads.
    await waitFor(
      () =>
        [...workers.keys()]
          .filter((n) => n !== first)
          .every((n) => lines.some((l) => l.name === n && l.event === 'master' && l.holder === first)),
      10_000,
      'the master event on the others',
    );
    killedAt.set(first, Date.now());
    workers.get(first)!.kill('SIGKILL');

    // Crash: the lease must expire first (15 s), then a follower acquires.
    await waitFor(() => promotions().length === 2, 40_000, 'a master after kill -9');
    const second = promotions()[1]!.name;
    expect(promotions()[1]!.t - killedAt.get(first)!).toBeGreaterThan(10_000);

    // Graceful: the release is announced, the last node takes over within a bus poll or two.
    const stopAt = Date.now();
    workers.get(second)!.kill('SIGTERM');
    await waitFor(() => promotions().length === 3, 20_000, 'a master after the graceful stop');
    const third = promotions()[2]!;
    expect(third.t - stopAt).toBeLessThan(5_000);
    workers.get(third.name)!.kill('SIGTERM');
    await waitFor(
      () => lines.some((l) => l.name === third.name && l.event === 'stopped'),
      10_000,
      'last stop',
    );

    // The recorded history: one interval per term, [promotion, demoted or kill], never overlapping.
    const terms = promotions().map((p) => {
      const end =
        lines.find((l) => l.name === p.name && l.event === 'demoted' && l.epoch === p.epoch)?.t ??
        killedAt.get(p.name);
      return { name: p.name, epoch: p.epoch!, start: p.t, end: end! };
    });
    expect(new Set(terms.map((t) => t.name)).size).toBe(3);
    for (const term of terms) expect(term.end).toBeGreaterThanOrEqual(term.start);
    for (let i = 1; i < terms.length; i++) {
      expect(terms[i]!.start).toBeGreaterThanOrEqual(terms[i - 1]!.end);
      expect(terms[i]!.epoch).toBeGreaterThan(terms[i - 1]!.epoch);
    }
  });
});
