import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { hasRefusals, loadRateLimitRules, planEdge, renderEdgeReport } from '../../edge/index.js';
import { writeEdgeFiles } from '../commands/edge.js';
import { REPLICAS, type DemoContext } from './demo-context.js';
import type { DemoSummary } from './demo-summary.js';

const TARGETS = ['nginx', 'haproxy', 'azure-front-door', 'azure-apim'] as const;

/** Step 4: edge configs for the rate limits migrate extracted. */
export async function runEdgePhase(
  context: DemoContext,
  rulesFile: string,
  rulesCount: number,
  reportDir: string,
): Promise<DemoSummary['edge']> {
  context.say('4/5 gossipless edge for the extracted rate limits');
  const edgeDir = path.join(reportDir, 'edge');
  // The exit code `gossipless edge` would give: 0 all carried over, 1 a refusal, 2 nothing to plan.
  let exitCode = 2;
  if (rulesCount > 0) {
    // The legacy limit was global across the replicas: each edge instance gets its share of it.
    const plan = planEdge(await loadRateLimitRules(rulesFile), TARGETS, {
      instances: REPLICAS,
      divideAmongInstances: true,
    });
    await writeEdgeFiles(plan, renderEdgeReport(plan), edgeDir, { flag: '--report', signal: context.signal });
    exitCode = hasRefusals(plan) ? 1 : 0;
  } else {
    context.problems.push('no rate limits were extracted, so there is nothing for the edge');
  }
  const files = existsSync(edgeDir) ? await listFiles(edgeDir) : [];
  context.say(`    ${files.length} file(s) in ${edgeDir}`);
  return { targets: [...TARGETS], files, exitCode };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
