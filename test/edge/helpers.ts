import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EDGE_TARGETS, parseRateLimitRules, planEdge, type EdgePlan } from '../../src/edge/index.js';

/** Root of the edge fixtures: one folder per scenario, its name the sentence. */
export const EDGE_FIXTURES = fileURLToPath(new URL('../fixtures/edge/', import.meta.url));

/** A fixture case: its rules file and the plan for every target with `--instances 3`. */
export interface EdgeCase {
  readonly name: string;
  readonly dir: string;
  readonly rulesFile: string;
  readonly plan: EdgePlan;
}

/** Every case under test/fixtures/edge (folders holding rules.json or rules.yaml). */
export function edgeCases(): EdgeCase[] {
  return readdirSync(EDGE_FIXTURES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const dir = join(EDGE_FIXTURES, entry.name);
      const rulesFile = ['rules.json', 'rules.yaml'].map((f) => join(dir, f)).find((f) => existsSync(f));
      if (!rulesFile) return [];
      const rules = parseRateLimitRules(readFileSync(rulesFile, 'utf8'), rulesFile);
      return [{ name: entry.name, dir, rulesFile, plan: planEdge(rules, EDGE_TARGETS, { instances: 3 }) }];
    });
}
