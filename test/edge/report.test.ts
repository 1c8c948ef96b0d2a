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
    const rows = planEdge(rule({ limit: 60, window: '1m', burst: 6 }), ['envoy'], { instances: 5 }).rows;
    expect(rows.find((r) => r.variant === 'local')).toMatchObject({
      counterScope: 'per instance',
      worstCasePerWindow: 67,
      fleetBound: 335,
    });
    expect(rows.find((r) => r.variant === 'global')).toMatchObject({
      counterScope: 'global',
      worstCasePerWindow: 120,
      fleetBound: 120,
    });
  });

  it('labels every target by one rule: exact only when nothing is approximated and the fleet bound is within limit + burst', () => {
    // A burst of a tenth of the limit: the bucket targets need no raise; fixed and two-period
    // windows still let up to twice through across a boundary.
    const plan = planEdge(rule({ limit: 100, window: '1m', burst: 10 }), [
      'nginx',
      'traefik',
      'envoy',
      'haproxy',
      'azure-front-door',
    ]);
    const label = (target: string, variant?: string) =>
      plan.rows.find((r) => r.target === target && r.variant === variant)!;
    expect(label('nginx')).toMatchObject({ fidelity: 'exact', worstCasePerWindow: 110 });
    expect(label('traefik')).toMatchObject({ fidelity: 'exact', worstCasePerWindow: 110 });
    for (const row of [label('haproxy'), label('azure-front-door'), label('envoy', 'global')]) {
      expect(row.fidelity).toBe('approximated');
      expect(row.worstCasePerWindow).toBeGreaterThan(110);
      expect(row.reasons.at(-1)).toMatch(/^tolerance: one client can get up to \d+ per 1 min, 110 intended/);
    }
    for (const row of plan.rows)
      expect(row.fidelity === 'exact').toBe(row.fleetBound! <= 110 && row.reasons.length === 0);
  });

  it('raises a zero burst to a tenth of the limit on bucket targets, and says so', () => {
    const [nginx] = planEdge(rule({ limit: 100, window: '1s' }), ['nginx']).rows;
    expect(nginx).toMatchObject({ fidelity: 'approximated', burstAtOnce: 11, worstCasePerWindow: 110 });
    expect(nginx!.reasons[0]).toMatch(/burst raised from 0 to 10/);
    expect(nginx!.setting).toContain('burst=10 nodelay');
  });

  it('divides limits among instances on request, stating the rounding, and labels what is emitted', () => {
    const undivided = planEdge(rule({ limit: 100, window: '1s', burst: 10 }), ['nginx'], { instances: 3 });
    expect(undivided.rows[0]).toMatchObject({ fidelity: 'approximated', fleetBound: 330 });
    expect(undivided.rows[0]!.reasons.join('\n')).toMatch(/pass --divide-by-instances/);
    const divided = planEdge(rule({ limit: 100, window: '1s', burst: 10 }), ['nginx', 'envoy'], {
      instances: 3,
      divideAmongInstances: true,
    });
    const nginx = divided.rows.find((r) => r.target === 'nginx')!;
    expect(nginx.setting).toContain('rate=33r/s');
    expect(nginx.setting).toContain('burst=4 nodelay'); // 10 / 3 = 3, raised to a tenth of 33
    expect(nginx).toMatchObject({ worstCasePerWindow: 37, fleetBound: 111 });
    expect(nginx.reasons[0]).toBe('limit 100 divided among 3 instances: 33 per counter (rounded down)');
    // The global counter is shared by the fleet: never divided.
    expect(divided.rows.find((r) => r.variant === 'global')!.setting).toContain('100 per second');
    const exact = planEdge(rule({ limit: 300, window: '1s', burst: 30 }), ['nginx'], {
      instances: 3,
      divideAmongInstances: true,
    }).rows[0]!;
    expect(exact).toMatchObject({ fidelity: 'exact', fleetBound: 330 });
    const tooSmall = planEdge(rule({ limit: 2, window: '1s' }), ['nginx'], {
      instances: 3,
      divideAmongInstances: true,
    }).rows[0]!;
    expect(tooSmall.fidelity).toBe('refused');
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
      ['haproxy', 'approximated', 240, 120],
    ]);
  });

  it('accepts namespaced JWT claims where the edge can read them', () => {
    const rows = planEdge(rule({ limit: 10, window: '1s', key: 'jwt:https://example.com/tenant' }), [
      'haproxy',
      'azure-apim',
      'envoy',
    ]).rows;
    expect(rows.map((r) => r.fidelity)).toEqual(['refused', 'exact', 'approximated', 'approximated']);
    expect(rows[0]!.reasons[0]).toMatch(/not a plain name/);
  });
});
