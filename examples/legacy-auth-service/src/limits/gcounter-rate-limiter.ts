// Our in-house CRDT rate limiter: a grow-only counter per node per window, merged by gossip, so
// the limit holds across the whole cluster.
export interface GCounterRateLimiterOptions {
  limit: number;
  windowMs: number;
  nodeId?: string;
  keyPrefix?: string;
}

export type GCounterState = Record<string, Record<string, number>>;

export class GCounterRateLimiter {
  private readonly counters: GCounterState = {};
  private readonly nodeId: string;

  constructor(private readonly options: GCounterRateLimiterOptions) {
    this.nodeId = options.nodeId ?? `node-${process.pid}`;
  }

  private slot(key: string): string {
    const window = Math.floor(Date.now() / this.options.windowMs);
    return `${this.options.keyPrefix ?? 'rl'}:${key}:${window}`;
  }

  tryConsume(key: string, cost = 1): boolean {
    const slot = this.slot(key);
    const perNode = (this.counters[slot] ??= {});
    const total = Object.values(perNode).reduce((sum, n) => sum + n, 0);
    if (total + cost > this.options.limit) return false;
    perNode[this.nodeId] = (perNode[this.nodeId] ?? 0) + cost;
    return true;
  }

  merge(remote: GCounterState): void {
    for (const [slot, perNode] of Object.entries(remote)) {
      const mine = (this.counters[slot] ??= {});
      for (const [node, count] of Object.entries(perNode)) mine[node] = Math.max(mine[node] ?? 0, count);
    }
  }

  state(): GCounterState {
    return this.counters;
  }
}
