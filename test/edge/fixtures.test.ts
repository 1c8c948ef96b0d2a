import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderEdgeReport } from '../../src/edge/index.js';
import { edgeCases } from './helpers.js';

// Input → expected-output pairs: test/fixtures/edge/<case>/rules.{json,yaml} → <case>/expected/<file>
// for every target file plus report.md. Regenerate after a deliberate change with
// UPDATE_EDGE_FIXTURES=1, then review the diff like code.
const update = process.env.UPDATE_EDGE_FIXTURES === '1';

describe.each(edgeCases())('edge fixture $name', ({ dir, plan }) => {
  const outputs = [...plan.files, { path: 'report.md', content: renderEdgeReport(plan) }];

  it.each(outputs.map((file) => [file.path, file.content] as const))(
    'writes %s as expected',
    (path, content) => {
      const expectedPath = join(dir, 'expected', path);
      if (update) {
        mkdirSync(dirname(expectedPath), { recursive: true });
        writeFileSync(expectedPath, content);
      }
      expect(
        existsSync(expectedPath),
        `${expectedPath} is missing; run with UPDATE_EDGE_FIXTURES=1 and review it`,
      ).toBe(true);
      expect(content).toBe(readFileSync(expectedPath, 'utf8'));
    },
  );

  it('reports every rule for every target, refusing with a reason rather than dropping', () => {
    for (const rule of plan.rules) {
      const rows = plan.rows.filter((row) => row.rule === rule.name);
      expect(new Set(rows.map((row) => row.target)).size).toBe(8);
      for (const row of rows) {
        if (row.fidelity === 'exact') expect(row.reasons).toEqual([]);
        else expect(row.reasons.length).toBeGreaterThan(0);
        if (row.fidelity === 'refused') expect(row.worstCasePerWindow).toBeNull();
        else
          expect(row.fleetBound).toBe(
            row.counterScope === 'global' ? row.worstCasePerWindow : row.worstCasePerWindow! * 3,
          );
      }
    }
  });
});
