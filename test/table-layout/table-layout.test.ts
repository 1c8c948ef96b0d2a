import { describe, expect, it } from 'vitest';
import {
  busTableName,
  channelOfDeadLetterPartition,
  channelOfPartition,
  channelPartition,
  channelPartitionsFilter,
  claimPartition,
  counterPartition,
  cursorPartition,
  deadLetterPartition,
  memberDigestPartition,
  memberPartition,
  odataString,
  partitionEquals,
} from '../../src/table-layout/index.js';

describe('table layout', () => {
  it('gives every kind of row its own partition prefix', () => {
    const partitions = [
      memberPartition('orders'),
      memberDigestPartition('orders'),
      channelPartition('orders', 'jobs'),
      deadLetterPartition('orders', 'jobs'),
      cursorPartition('orders'),
      claimPartition('orders'),
      counterPartition('orders', 'k'),
    ];
    expect(new Set(partitions.map((p) => p.slice(0, 2))).size).toBe(partitions.length);
  });

  it('quotes OData literals by doubling single quotes', () => {
    expect(odataString("o'brien")).toBe("'o''brien'");
    expect(partitionEquals(memberPartition("a'b"))).toBe("PartitionKey eq 'm:a''b'");
  });

  it('bounds a cluster range so another cluster whose name extends it stays out', () => {
    const filter = channelPartitionsFilter('orders');
    expect(filter).toBe("PartitionKey ge 'c:orders:' and PartitionKey lt 'c:orders;'");
    // ';' is the character after ':', so the range holds exactly the keys that start with 'c:orders:'.
    expect('c:orders2:x' >= 'c:orders:').toBe(false);
    expect('c:orders:x' < 'c:orders;').toBe(true);
  });

  it('reads the channel back from a partition key, and nothing from another cluster', () => {
    expect(channelOfPartition('orders', channelPartition('orders', 'a:b'))).toBe('a:b');
    expect(channelOfPartition('orders', channelPartition('orders2', 'a'))).toBeUndefined();
    expect(channelOfDeadLetterPartition('orders', deadLetterPartition('orders', 'x'))).toBe('x');
    expect(channelOfDeadLetterPartition('orders', channelPartition('orders', 'x'))).toBeUndefined();
  });

  it('refuses a table prefix Azure would refuse, naming it', () => {
    expect(busTableName('gossipless')).toBe('gossiplessbus');
    expect(() => busTableName('bad-prefix')).toThrow(/tablePrefix "bad-prefix"/);
  });
});
