import { describe, expect, it } from 'vitest';
import { nginxRate, parseRateLimitRules, planEdge, renderEdgeReport } from '../../src/edge/index.js';

const rule = (fields: Record<string, unknown>) =>
  parseRateLimitRules(JSON.stringify([{ name: 'r', key: 'ip', ...fields }]), 'r.json');

describe('the report tells the truth per target', () => {
  it('words the Front Door approximation as the issue does', () => {
    const plan = planEdge(rule({ limit: 100, window: '30s' }), ['azure-front-door'], { instances: 4 });
    const [row] = plan.rows;
    expect(row).toMatchObject({
      fidelity: 'approximated',
      counterScope: 'per edge server',
      // Fixed 1-minute windows of 200: a 30 s span across a boundary sees two of them.
      worstCasePerWindow: 400,
      fleetBound: 1600,
    });
    expect(row!.reasons[0]).toBe('100 per 30 s → Front Door 200 per 1 min: window widened');
    expect(renderEdgeReport(plan)).toContain('100 per 30 s → Front Door 200 per 1 min: window widened');
  });

  it('narrows long windows for the WAFs (stricter) and refuses what is below their floor', () => {
    const [long] = planEdge(rule({ limit: 1000, window: '10m' }), ['azure-app-gateway']).rows;
    expect(long).toMatchObject({
      setting: expect.stringContaining('FiveMins, rateLimitThreshold 500'),
      worstCasePerWindow: 1000,
    });
    const [tooSlow] = planEdge(rule({ limit: 5, window: '1h' }), ['azure-front-door']).rows;
    expect(tooSlow).toMatchObject({ fidelity: 'refused', fleetBound: null });
    expect(tooSlow!.reasons[0]).toMatch(/less than 1 request per 5 min/);
  });

  it('picks whole nginx rates and rounds down, never up', () => {
    expect(nginxRate(10, 1000)).toMatchObject({ text: '10r/s', reasons: [] });
    expect(nginxRate(100, 30_000)).toMatchObject({ text: '200r/m', reasons: [] });
    expect(nginxRate(7, 45_000)).toMatchObject({
      text: '9r/m',
      reasons: [expect.stringContaining('rounded down')],
    });
    expect(nginxRate(5, 3_600_000)).toBeUndefined();
  });

  it('keeps global counters out of the fleet multiplication', () => {
    const rows = planEdge(rule({ limit: 60, window: '1m' }), ['envoy'], { instances: 5 }).rows;
    expect(rows.find((r) => r.variant === 'local')).toMatchObject({
      counterScope: 'per instance',
      worstCasePerWindow: 61,
      fleetBound: 305,
    });
    expect(rows.find((r) => r.variant === 'global')).toMatchObject({
      counterScope: 'global',
      worstCasePerWindow: 120,
      fleetBound: 120,
    });
  });

  it('refuses a JWT key on nginx and Front Door, with the reason', () => {
    const rows = planEdge(rule({ limit: 10, window: '1s', key: 'jwt:sub' }), [
      'nginx',
      'azure-front-door',
      'azure-apim',
    ]).rows;
    expect(rows.map((r) => r.fidelity)).toEqual(['refused', 'refused', 'exact']);
    expect(rows[0]!.reasons[0]).toMatch(/cannot read JWT claims/);
  });

  it('maps burst faithfully where the edge has one', () => {
    const rows = planEdge(rule({ limit: 100, window: '30s', burst: 20 }), [
      'nginx',
      'traefik',
      'haproxy',
    ]).rows;
    expect(rows.map((r) => [r.target, r.fidelity, r.worstCasePerWindow, r.burstAtOnce])).toEqual([
      ['nginx', 'exact', 120, 21],
      ['traefik', 'exact', 120, 21],
      ['haproxy', 'approximated', 200, 100],
    ]);
  });

  it('accepts namespaced JWT claims where the edge can read them', () => {
    const rows = planEdge(rule({ limit: 10, window: '1s', key: 'jwt:https://example.com/tenant' }), [
      'haproxy',
      'azure-apim',
      'envoy',
    ]).rows;
    expect(rows.map((r) => r.fidelity)).toEqual(['refused', 'exact', 'exact', 'exact']);
    expect(rows[0]!.reasons[0]).toMatch(/not a plain name/);
  });
});
