import { describe, expect, it } from 'vitest';
import { isGossiplessError } from '../../src/errors/index.js';
import { parseRateLimitRules, validateRateLimitRules } from '../../src/edge/index.js';

function problems(data: unknown): string[] {
  const result = validateRateLimitRules(data);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((p) => `${p.rule} ${p.field}: ${p.message}`);
}

describe('rate-limit rules', () => {
  it('reads the shared format with defaults filled in', () => {
    const [rule] = parseRateLimitRules(
      JSON.stringify({
        rules: [
          {
            name: 'api',
            limit: 100,
            window: '30s',
            key: ['ip', 'header:X-Api-Key'],
            match: { host: 'API.example.com' },
          },
        ],
      }),
      'r.json',
    );
    expect(rule).toEqual({
      name: 'api',
      limit: 100,
      window: '30s',
      windowMs: 30_000,
      burst: 0,
      key: [{ kind: 'ip' }, { kind: 'header', name: 'x-api-key' }],
      match: { host: 'api.example.com' },
      action: 'reject',
      status: 429,
    });
  });

  it('reads YAML and a bare array', () => {
    const rules = parseRateLimitRules(
      '- name: a\n  limit: 5\n  window: 250ms\n  key: jwt:sub\n  action: log\n',
      'r.yaml',
    );
    expect(rules[0]).toMatchObject({ windowMs: 250, key: [{ kind: 'jwt', claim: 'sub' }], action: 'log' });
  });

  it('names the rule and the field of every problem', () => {
    expect(
      problems({
        rules: [
          { name: 'ok', limit: 1, window: '1s', key: 'ip' },
          { name: 'bad-window', limit: 0, window: '30 seconds', key: 'ip' },
          { limit: 5, window: '1m', key: 'cookie:sid', colour: 'red' },
          { name: 'ok', limit: 1, window: '1s', key: 'ip', action: 'log', status: 503 },
          { name: 'methods', limit: 1, window: '1s', key: 'ip', match: { methods: ['FETCH'] } },
        ],
      }),
    ).toEqual([
      'rule "bad-window" (rules[1]) limit: must be >= 1',
      'rule "bad-window" (rules[1]) window: must be a positive integer followed by ms, s, m or h (e.g. "30s", "1m")',
      'rules[2] name: is required',
      'rules[2] colour: is not a known field',
      'rules[2] key: must be "ip", "path", "header:<name>", "jwt:<claim>", or a non-empty array of them without repeats',
      'rule "ok" (rules[3]) name: duplicates the name of rules[0]',
      'rule "ok" (rules[3]) status: only applies to action "reject"; remove it',
      'rule "methods" (rules[4]) match.methods[0]: must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"',
    ]);
  });

  it('rejects unknown top-level keys', () => {
    expect(problems({ rules: [], version: 2 })).toEqual([
      'file version: unknown top-level key (only "rules" is allowed)',
    ]);
  });

  it('throws INVALID_RULES with the file name and every problem', () => {
    try {
      parseRateLimitRules('{"rules":[{"name":"x","limit":1,"window":"1d","key":"ip"}]}', 'limits.json');
      expect.unreachable();
    } catch (error) {
      expect(isGossiplessError(error, 'INVALID_RULES')).toBe(true);
      expect((error as Error).message).toContain('limits.json: 1 problem');
      expect((error as Error).message).toContain('rule "x" (rules[0]), field "window"');
    }
  });

  it('says which syntax failed', () => {
    expect(() => parseRateLimitRules('{ rules: [', 'limits.json')).toThrow(/limits.json: not valid JSON/);
  });
});
