import { inject } from 'vitest';
import { createCluster, type Cluster, type ClusterOptions } from '../../src/cluster/index.js';
import { connectStorage } from '../../src/storage/index.js';

/** Short timings the store allows: the lease cannot be shorter than 15 s; everything else can. */
export const FAST_TIMINGS = {
  lease: { retryIntervalMs: 300 },
  membership: { heartbeatIntervalMs: 250, memberTtlMs: 1500 },
  bus: { pollIntervalMs: 100, lookbackMs: 3000 },
} satisfies Partial<ClusterOptions>;

/** A cluster node on the run's Azurite with fast timings. */
export function testCluster(options: Partial<ClusterOptions> & { cluster: string; nodeId: string }): Cluster {
  return createCluster({
    storage: connectStorage({ connectionString: inject('azuriteConnectionString') }),
    tablePrefix: 'clustertest',
    ...FAST_TIMINGS,
    ...options,
  });
}
