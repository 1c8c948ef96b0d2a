/**
 * How long `gossipless edge` takes to plan every target for a large rules file, against an anchor
 * measured in the same run: validating the same rules with the JSON schema (work every run does
 * anyway). Run: npm run bench:edge-plan
 */
import { performance } from 'node:perf_hooks';
import { EDGE_TARGETS, planEdge, renderEdgeReport, validateRateLimitRules } from '../src/edge/index.js';

const RULES = 1000;
const ROUNDS = 5;

const keys = ['ip', 'header:x-api-key', 'jwt:sub', ['ip', 'path']];
const windows = ['1s', '30s', '1m', '5m', '1h'];
const data = {
  rules: Array.from({ length: RULES }, (_, i) => ({
    name: `rule-${i}`,
    limit: 10 + (i % 500),
    window: windows[i % windows.length],
    burst: i % 7,
    key: keys[i % keys.length],
    ...(i % 3 === 0 ? { match: { path: `/api/v${i % 5}`, methods: ['GET', 'POST'] } } : {}),
    ...(i % 11 === 0 ? { action: 'log' } : {}),
  })),
};

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => void): number {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

const validated = validateRateLimitRules(data);
if (!validated.ok) throw new Error(JSON.stringify(validated.problems.slice(0, 3)));
const rules = validated.rules;

const anchor = time(() => void validateRateLimitRules(data));
const rows: Array<[string, number]> = [['anchor: schema-validate the rules', anchor]];
for (const target of EDGE_TARGETS) rows.push([`plan ${target}`, time(() => void planEdge(rules, [target]))]);
rows.push([
  'plan all 8 targets + render report',
  time(() => void renderEdgeReport(planEdge(rules, EDGE_TARGETS))),
]);

console.log(`${RULES} rules, median of ${ROUNDS} rounds, Node ${process.version}\n`);
console.log('| step | ms | × anchor |');
console.log('|---|---:|---:|');
for (const [step, ms] of rows) console.log(`| ${step} | ${ms.toFixed(1)} | ${(ms / anchor).toFixed(1)} |`);
