import { describe, expect, it } from 'vitest';
import {
  EDGE_TARGETS,
  ENVOY_FILES,
  HAPROXY_FILE,
  MAX_RULE_COUNT,
  MAX_WINDOW_MS,
  NGINX_FILE,
  planEdge,
  validateRateLimitRules,
} from '../../src/edge/index.js';
import { haproxyCheck, nginxCheck } from './real-tools.js';

// Issue 17, "Hangs and runaway work": every number in the rules is bounded by the schema to what
// the targets accept, and the extremes plan quickly and deploy (nginx -t, haproxy -c).
const problemsOf = (rule: Record<string, unknown>) => {
  const result = validateRateLimitRules([{ name: 'r', key: 'ip', limit: 10, window: '1m', ...rule }]);
  return result.ok ? [] : result.problems.map((p) => `${p.field}: ${p.message}`);
};

// The largest protobuf Duration (google.protobuf.Duration): 315,576,000,000 s.
const PROTOBUF_MAX_DURATION_S = 315_576_000_000;

describe('numbers in the rules are bounded', () => {
  it.each([
    [{ limit: 1e308 }, 'limit'],
    [{ limit: 3_000_000_001 }, 'limit'],
    [{ burst: 1e12 }, 'burst'],
    [{ window: `${'9'.repeat(30)}h` }, 'window'],
    [{ window: '8785h' }, 'window'],
    [{ window: '1e3s' }, 'window'],
  ])('refuses %j naming the field', (rule, field) => {
    const problems = problemsOf(rule);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(new RegExp(`^${field}: `));
  });

  it('JSON has no Infinity or NaN, and YAML spellings of them are refused', () => {
    const yamlInfinity = validateRateLimitRules([{ name: 'r', key: 'ip', limit: Infinity, window: '1m' }]);
    expect(yamlInfinity.ok).toBe(false);
    const nan = validateRateLimitRules([{ name: 'r', key: 'ip', limit: Number.NaN, window: '1m' }]);
    expect(nan.ok).toBe(false);
  });

  it('plans the extremes on every target in well under a second, with finite numbers only', () => {
    const result = validateRateLimitRules([
      { name: 'huge', key: 'ip', limit: MAX_RULE_COUNT, burst: MAX_RULE_COUNT, window: '1ms' },
      { name: 'long', key: 'ip', limit: MAX_RULE_COUNT, window: `${MAX_WINDOW_MS / 3_600_000}h` },
      { name: 'odd', key: 'ip', limit: 999_999_937, window: '8783h' },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const started = performance.now();
    const plan = planEdge(result.rules, EDGE_TARGETS, { instances: 1000 });
    expect(performance.now() - started).toBeLessThan(2000);
    for (const file of plan.files) expect(file.content, file.path).not.toMatch(/Infinity|NaN|e\+\d/);
    for (const row of plan.rows) {
      for (const value of [row.worstCasePerWindow, row.fleetBound, row.burstAtOnce])
        if (value !== null) expect(Number.isSafeInteger(value), `${row.target} ${row.rule}`).toBe(true);
    }
    // Envoy durations stay within protobuf's Duration.
    for (const path of Object.values(ENVOY_FILES)) {
      const content = plan.files.find((f) => f.path === path)!.content;
      for (const [, seconds] of content.matchAll(/fill_interval: "([0-9.]+)s"/g))
        expect(Number(seconds)).toBeLessThanOrEqual(PROTOBUF_MAX_DURATION_S);
    }
    expect(nginxCheck(plan.files.find((f) => f.path === NGINX_FILE)!.content).status).toBe(0);
  });

  it('a rule on "/" and one on a path deploy together (one location / in nginx)', () => {
    const result = validateRateLimitRules([
      { name: 'root', key: 'ip', limit: 100, window: '1s', match: { path: '/' } },
      { name: 'api', key: 'ip', limit: 10, window: '1s', match: { path: '/API' } },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const plan = planEdge(result.rules, ['nginx', 'haproxy']);
    const nginx = plan.files.find((f) => f.path === NGINX_FILE)!.content;
    expect(nginx.match(/location \/ \{/g)).toHaveLength(1);
    expect(nginxCheck(nginx).status).toBe(0);
    expect(haproxyCheck(plan.files.find((f) => f.path === HAPROXY_FILE)!.content).status).toBe(0);
  });

  it('HAProxy refuses a window past its timer range (about 596 h) with the reason, and deploys the rest', () => {
    const result = validateRateLimitRules([
      { name: 'monthly', key: 'ip', limit: 100_000, window: '720h' },
      { name: 'longest', key: 'ip', limit: 100_000, window: '596h' },
      { name: 'fast', key: 'ip', limit: MAX_RULE_COUNT, window: '1s' },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const plan = planEdge(result.rules, ['haproxy']);
    const monthly = plan.rows.find((r) => r.rule === 'monthly')!;
    expect(monthly.fidelity).toBe('refused');
    expect(monthly.reasons[0]).toMatch(/window 720h is longer than HAProxy's longest timer.*about 596 h/);
    const { status, output } = haproxyCheck(plan.files.find((f) => f.path === HAPROXY_FILE)!.content);
    expect(status, output).toBe(0);
    expect(output).not.toMatch(/\[WARNING\]/);
  });
});
