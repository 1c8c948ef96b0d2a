import { GossiplessError } from '../errors/index.js';

/*
 * The one place that knows how gossipless lays out its Azure Table. One table per prefix holds every
 * kind of row, each kind in its own partitions, so that each reader's query is one partition (or one
 * contiguous range of partitions) and never a table scan:
 *
 *   m:<cluster>                members (row key: node id)
 *   c:<cluster>:<channel>      bus messages (row key: publish time + message id)
 *   d:<cluster>:<channel>      dead letters (row key: message id + consumer)
 *   k:<cluster>                durable consumers' cursors (row key: consumer name)
 *   j:<cluster>                singleton tick claims (row key: job + tick)
 *   l:<scope>:<key>            windowed counters of the rate limiter (row key: window + node id)
 *
 * Range filters use `;`, the character after `:`, as the exclusive upper bound of a prefix.
 */

/** Default table prefix: the table is `<prefix>bus`. */
export const DEFAULT_TABLE_PREFIX = 'gossipless';

/** The bus/membership table name for a prefix (Azure table names are alphanumeric, 3–63). */
export function busTableName(prefix: string = DEFAULT_TABLE_PREFIX): string {
  const name = `${prefix}bus`;
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(name)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `tablePrefix "${prefix}" gives table "${name}", which is not a valid table name (letters and digits, starting with a letter, at most 60 for the prefix)`,
    );
  }
  return name;
}

/** Escapes a string for an OData filter literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** OData filter: the row's partition is exactly `partitionKey`. */
export function partitionEquals(partitionKey: string): string {
  return `PartitionKey eq ${odataString(partitionKey)}`;
}

/** OData filter: the row's partition starts with `prefix` (which ends in `:`). */
function partitionsUnder(prefix: string): string {
  const upper = `${prefix.slice(0, -1)};`;
  return `PartitionKey ge ${odataString(prefix)} and PartitionKey lt ${odataString(upper)}`;
}

/** Partition of a cluster's members. */
export function memberPartition(cluster: string): string {
  return `m:${cluster}`;
}

/** Partition of one bus channel's messages. */
export function channelPartition(cluster: string, channel: string): string {
  return `c:${cluster}:${channel}`;
}

/** OData filter selecting every channel partition of a cluster. */
export function channelPartitionsFilter(cluster: string): string {
  return partitionsUnder(`c:${cluster}:`);
}

/** The channel a message partition key belongs to, or undefined if it is not one of the cluster's. */
export function channelOfPartition(cluster: string, partitionKey: string): string | undefined {
  return afterPrefix(`c:${cluster}:`, partitionKey);
}

/** Partition of a channel's dead letters. */
export function deadLetterPartition(cluster: string, channel: string): string {
  return `d:${cluster}:${channel}`;
}

/** OData filter selecting every dead-letter partition of a cluster. */
export function deadLetterPartitionsFilter(cluster: string): string {
  return partitionsUnder(`d:${cluster}:`);
}

/** The channel a dead-letter partition key belongs to, or undefined if it is not one of the cluster's. */
export function channelOfDeadLetterPartition(cluster: string, partitionKey: string): string | undefined {
  return afterPrefix(`d:${cluster}:`, partitionKey);
}

/** Partition of a cluster's durable-consumer cursors. */
export function cursorPartition(cluster: string): string {
  return `k:${cluster}`;
}

/** Partition of a cluster's singleton tick claims. */
export function claimPartition(cluster: string): string {
  return `j:${cluster}`;
}

/** Partition of one rate-limit key's windowed counters (`key` is already made safe for a key). */
export function counterPartition(scope: string, safeKey: string): string {
  return `l:${scope}:${safeKey}`;
}

/** OData filter selecting every counter partition of a limiter scope. */
export function counterPartitionsFilter(scope: string): string {
  return partitionsUnder(`l:${scope}:`);
}

function afterPrefix(prefix: string, partitionKey: string): string | undefined {
  return partitionKey.startsWith(prefix) ? partitionKey.slice(prefix.length) : undefined;
}
