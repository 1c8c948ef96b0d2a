import { describe, expect, it } from 'vitest';
import {
  EDGE_TARGET_SHAPES,
  EDGE_TARGETS,
  parseRateLimitRules,
  planTarget,
  resolveEdgeContext,
  type EdgeTargetShape,
  type TranslatedRule,
} from '../../src/edge/index.js';

// The loop every target shares: refusals become rows with reasons, limits are divided once for
// counters that are not global, `earlier` carries the translations before a rule, and variants
// report rule by rule.
const rules = parseRateLimitRules(
  JSON.stringify({
    rules: [
      { name: 'small', limit: 2, window: '1m', key: 'ip' },
      { name: 'logged', limit: 30, window: '1m', key: 'ip', action: 'log' },
      { name: 'large', limit: 31, window: '1m', key: 'ip' },
    ],
  }),
  'rules.json',
);

interface Line extends TranslatedRule {
  readonly line: string;
  readonly position: number;
}

function lineShape(variant: string, counterScope: 'per instance' | 'global'): EdgeTargetShape<Line, number> {
  return {
    target: 'nginx',
    variant,
    counterScope,
    survey: (all) => all.length,
    refuse: (rule) => (rule.action === 'log' ? [`${variant} has no log-only mode`] : []),
    translate: (rule, context) => ({
      rule,
      line: `${rule.name}=${rule.limit}`,
      position: context.earlier.length,
      row: { setting: `${rule.name}=${rule.limit}`, worstCasePerWindow: rule.limit, burstAtOnce: 1 },
    }),
    render: (translated, context) => ({
      files: [
        {
          path: `${variant}.txt`,
          content: translated.map((t) => `${t.line}@${t.position}/${context.survey}`).join('\n'),
        },
      ],
      notes: [`${variant} note`],
    }),
  };
}

describe('planTarget', () => {
  const context = resolveEdgeContext({ instances: 3, divideAmongInstances: true });
  const plan = planTarget(
    [lineShape('local', 'per instance'), lineShape('global', 'global')],
    rules,
    context,
  );

  it('refuses with the reason the target gives, and leaves the rule out of the files', () => {
    const logged = plan.rows.filter((row) => row.rule === 'logged');
    expect(logged.map((row) => [row.variant, row.fidelity, row.reasons])).toEqual([
      ['local', 'refused', ['local has no log-only mode']],
      ['global', 'refused', ['global has no log-only mode']],
    ]);
    expect(plan.files.map((file) => file.content).join('\n')).not.toContain('logged');
  });

  it('divides limits among instances for counters that are not global, and refuses a share below 1', () => {
    const small = plan.rows.find((row) => row.rule === 'small' && row.variant === 'local')!;
    expect(small.fidelity).toBe('refused');
    expect(small.reasons[0]).toContain('less than 1 per counter');
    expect(plan.files).toEqual([
      { path: 'local.txt', content: 'large=10@0/3' },
      { path: 'global.txt', content: 'small=2@0/3\nlarge=31@1/3' },
    ]);
  });

  it('labels every translated row once: scope, fleet bound and the rounding reason', () => {
    const large = plan.rows.filter((row) => row.rule === 'large');
    expect(large.map((row) => [row.counterScope, row.fleetBound, row.fidelity])).toEqual([
      ['per instance', 30, 'approximated'],
      ['global', 31, 'exact'],
    ]);
    expect(large[0]!.reasons[0]).toContain('limit 31 divided among 3 instances: 10 per counter');
  });

  it('reports rule by rule, each variant in turn, and keeps every variant’s notes', () => {
    expect(plan.rows.map((row) => `${row.rule}/${row.variant}`)).toEqual([
      'small/local',
      'small/global',
      'logged/local',
      'logged/global',
      'large/local',
      'large/global',
    ]);
    expect(plan.notes).toEqual(['local note', 'global note']);
  });
});

describe('EDGE_TARGET_SHAPES', () => {
  it('has shapes for every target, each naming the target it is registered under', () => {
    for (const target of EDGE_TARGETS) {
      expect(EDGE_TARGET_SHAPES[target].length).toBeGreaterThan(0);
      for (const shape of EDGE_TARGET_SHAPES[target]) expect(shape.target).toBe(target);
    }
  });
});
