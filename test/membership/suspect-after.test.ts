import { describe, expect, it } from 'vitest';
import { MEMBERSHIP_DEFAULTS, suspectAfterMs } from '../../src/membership/index.js';

describe('suspectAfterMs (one rule for nodes and gossipless status)', () => {
  it('is two missed heartbeats; knowing only the TTL, two thirds of it; 30 s at the defaults', () => {
    expect(suspectAfterMs({ heartbeatIntervalMs: 5000 })).toBe(10_000);
    expect(suspectAfterMs({ heartbeatIntervalMs: 5000, memberTtlMs: 60_000 })).toBe(10_000);
    expect(suspectAfterMs({ memberTtlMs: 60_000 })).toBe(40_000);
    expect(suspectAfterMs()).toBe(30_000);
    expect(suspectAfterMs({ memberTtlMs: MEMBERSHIP_DEFAULTS.memberTtlMs })).toBe(suspectAfterMs());
  });
});
