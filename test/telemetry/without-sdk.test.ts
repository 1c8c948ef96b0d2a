import { describe, expect, it } from 'vitest';
import { TRACE_CONTEXT_PROPERTY } from '../../src/telemetry/index.js';
import { testCluster } from '../helpers/cluster.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

describe('telemetry with no OpenTelemetry SDK registered', () => {
  it('stores no trace context with a published message', async () => {
    const cluster = uniqueName('nosdk');
    const node = testCluster({ cluster, nodeId: 'n1' });
    await node.start();
    try {
      const id = await node.publish('plain', { n: 1 });
      const row = await testStorage()
        .tableClient(node.bus.tableName)
        .getEntity<Record<string, unknown>>(`c:${cluster}:plain`, id);
      expect(row).not.toHaveProperty(TRACE_CONTEXT_PROPERTY);
      expect(row['payload']).toBe('{"n":1}');
    } finally {
      await node.stop();
    }
  });
});
