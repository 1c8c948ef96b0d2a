import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ATTR_CLUSTER, ATTR_NODE, INSTRUMENTS, prometheusSeriesNames } from '../../src/telemetry/index.js';

const root = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(resolve(root, path), 'utf8');

// What the code exports, named as the OpenTelemetry Prometheus exporter writes it.
const exportedSeries = new Set(Object.values(INSTRUMENTS).flatMap((spec) => prometheusSeriesNames(spec)));
const exportedLabels = new Set(
  [ATTR_CLUSTER, ATTR_NODE, ...Object.values(INSTRUMENTS).flatMap((spec) => spec.attributes)]
    .map((name) => name.replace(/\./g, '_'))
    .concat(['le']),
);

/** Parses PromQL with Prometheus' own grammar; returns the metric and label names it uses. */
function parsePromQL(expr: string): { errors: string[]; metrics: string[]; labels: string[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const metrics: string[] = [];
  const labels: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`syntax error at ${node.from}: "${expr.slice(node.from, node.from + 20)}"`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(expr.slice(node.from, node.to));
      }
      if (node.name === 'LabelName') labels.push(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics, labels };
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

const rulesDocument = parseDocument(read('docs/deploy/prometheus/gossipless-alerts.yaml'));
const rules = (rulesDocument.toJS() as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap(
  (group) => group.rules,
);
const dashboard = JSON.parse(read('docs/deploy/grafana/gossipless-dashboard.json')) as {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
};
const runbook = read('docs/operations.md');

describe('docs/deploy/prometheus/gossipless-alerts.yaml', () => {
  it('is a rules file: YAML without errors, groups of rules with alert, expr, severity and runbook', () => {
    expect(rulesDocument.errors).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Gossipless[A-Za-z]+$/);
      expect(typeof rule.expr).toBe('string');
      expect(['page', 'warn', 'ticket']).toContain(rule.labels.severity);
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    }
  });

  it('covers the alerts the issue asks for', () => {
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'GossiplessNoLeader',
        'GossiplessLeaderFlapping',
        'GossiplessRenewalNearDeadline',
        'GossiplessConsumerLag',
        'GossiplessDeadLetters',
        'GossiplessStorageThrottled',
        'GossiplessTransactionsOverBudget',
      ]),
    );
    // No leader for longer than L + 5 s at the default 15 s lease.
    expect(rules.find((r) => r.alert === 'GossiplessNoLeader')?.for).toBe('20s');
  });

  it.each(rules.map((rule) => [rule.alert, rule] as const))(
    '%s parses as PromQL and names only exported metrics and labels',
    (_name, rule) => {
      const { errors, metrics, labels } = parsePromQL(rule.expr);
      expect(errors).toEqual([]);
      expect(metrics.length).toBeGreaterThan(0);
      for (const metric of metrics) expect(exportedSeries, metric).toContain(metric);
      for (const label of labels) expect(exportedLabels, label).toContain(label);
    },
  );

  it('links every alert to its runbook entry in docs/operations.md', () => {
    for (const rule of rules) {
      const anchor = `alert-${rule.alert.toLowerCase()}`;
      expect(rule.annotations.runbook).toBe(`docs/operations.md#${anchor}`);
      expect(runbook).toContain(`### Alert: ${rule.alert}\n`);
    }
  });
});

describe('docs/deploy/grafana/gossipless-dashboard.json', () => {
  const targets = dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => [panel.title, target.expr] as const),
  );

  it.each(targets)('panel "%s": %s parses and names only exported metrics and labels', (_title, expr) => {
    const { errors, metrics, labels } = parsePromQL(expr);
    expect(errors).toEqual([]);
    for (const metric of metrics) expect(exportedSeries, metric).toContain(metric);
    for (const label of labels) expect(exportedLabels, label).toContain(label);
  });

  it('shows every exported metric somewhere', () => {
    const used = new Set(targets.flatMap(([, expr]) => parsePromQL(expr).metrics));
    for (const spec of Object.values(INSTRUMENTS)) {
      expect(
        prometheusSeriesNames(spec).some((name) => used.has(name)),
        spec.name,
      ).toBe(true);
    }
  });

  it('is importable: a Prometheus data-source input and a cluster variable', () => {
    const json = dashboard as unknown as {
      __inputs: Array<{ name: string; pluginId: string }>;
      templating: { list: Array<{ name: string }> };
      uid: string;
    };
    expect(json.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    ]);
    expect(json.templating.list.map((v) => v.name)).toEqual(['cluster']);
    expect(json.uid).toBe('gossipless');
  });
});

describe('docs/operations.md', () => {
  it('documents every exported metric', () => {
    for (const spec of Object.values(INSTRUMENTS)) expect(runbook, spec.name).toContain(`\`${spec.name}\``);
  });
});
