import {
  claimPartition,
  channelPartition,
  cursorPartition,
  deadLetterPartition,
  memberDigestPartition,
  memberPartition,
} from '../table-layout/index.js';

/**
 * What a storage transaction was for. The cost model (src/cost) predicts each kind; the counter
 * counts them, so the two can be compared kind by kind.
 *
 * - `lease`: blob lease acquire/renew/release, the epoch read and write, the epoch-floor query
 * - `membership`: heartbeat upserts, member list reads, the member digest (written by one node,
 *   point-read by the others), dead-row collection, leaving
 * - `bus-poll`: subscribers' bus queries
 * - `publish`: bus message writes (and dead letters parked)
 * - `cursor`: durable consumers' cursor rows and the server-time probe row
 * - `tick-claim`: singleton tick claims (a conditional write; a read first when the row is not as
 *   this node last wrote it)
 * - `retention`: the leader's retention queries and deletes
 * - `setup`: creating the table, the container and the lease blob
 * - `other`: anything else sent through the connection (rate-limit counters, status reads, …)
 */
export type StorageTransactionKind =
  'lease' | 'membership' | 'bus-poll' | 'publish' | 'cursor' | 'tick-claim' | 'retention' | 'setup' | 'other';

/** Every kind, in the order reports list them. */
export const STORAGE_TRANSACTION_KINDS: readonly StorageTransactionKind[] = [
  'lease',
  'membership',
  'bus-poll',
  'publish',
  'cursor',
  'tick-claim',
  'retention',
  'setup',
  'other',
];

/**
 * How Azure bills a request (standard general-purpose v2; see
 * https://learn.microsoft.com/azure/storage/blobs/map-rest-apis-transaction-categories): every
 * table request is a table transaction; blob lease calls, Get/Set Blob Properties and Metadata are
 * "other" operations, Put Blob a write, Get Blob a read, Create/List Container "list and create".
 */
export type BillingClass = 'table' | 'blob-write' | 'blob-read' | 'blob-other' | 'blob-list-create';

/** The parts of an HTTP request the classifier looks at. */
export interface StorageRequestShape {
  service: 'blob' | 'table';
  method: string;
  url: string;
  /** The serialised body (table inserts and batches carry their partition key there). */
  body?: unknown;
  /** `x-ms-lease-action` of blob lease calls. */
  leaseAction?: string | undefined;
}

/** Counts of one kind. */
export interface KindCounts {
  /** Requests sent (each is a billable transaction once authenticated, failed ones included). */
  requests: number;
  /** Answers that said the account is throttling: 429, 503, 500 OperationTimedOut. */
  throttled: number;
  /** Requests by billing class. */
  table: number;
  blobWrite: number;
  blobRead: number;
  blobOther: number;
  blobListCreate: number;
}

/** A counter's totals since it was created, with per-hour rates over that time. */
export interface TransactionCounts {
  /** Milliseconds counted over (since the counter was created or last reset). */
  elapsedMs: number;
  byKind: Record<StorageTransactionKind, KindCounts & { perHour: number }>;
  total: { requests: number; throttled: number; perHour: number };
}

// Partition prefixes, from the one module that owns the table layout: `m:`, `c:`, …
const PREFIX = {
  member: prefixOf(memberPartition('x')),
  memberDigest: prefixOf(memberDigestPartition('x')),
  channel: prefixOf(channelPartition('x', 'y')),
  deadLetter: prefixOf(deadLetterPartition('x', 'y')),
  cursor: prefixOf(cursorPartition('x')),
  claim: prefixOf(claimPartition('x')),
};

function prefixOf(partitionKey: string): string {
  return partitionKey.slice(0, partitionKey.indexOf(':') + 1);
}

const BATCH_PARTITION = /PartitionKey(?:%3D|=)(?:'|%27)([^'%]*(?:%[0-9A-Fa-f]{2}[^'%]*)*)(?:'|%27)/;
const JSON_PARTITION = /"PartitionKey"\s*:\s*"((?:[^"\\]|\\.)*)"/;
const ENTITY_PATH = /\(PartitionKey='((?:[^']|'')*)',RowKey='(?:[^']|'')*'\)$/;

function decode(text: string): string {
  try {
    return decodeURIComponent(text).replace(/''/g, "'");
  } catch {
    return text;
  }
}

function jsonPartition(body: string): string | undefined {
  const escaped = JSON_PARTITION.exec(body)?.[1];
  if (escaped === undefined) return undefined;
  try {
    return JSON.parse(`"${escaped}"`) as string;
  } catch {
    return escaped;
  }
}

function firstPartitionInFilter(filter: string): string | undefined {
  const match = /PartitionKey\s+(?:eq|ge|gt)\s+'((?:[^']|'')*)'/.exec(filter);
  return match ? match[1]!.replace(/''/g, "'") : undefined;
}

/**
 * Says what one storage request was for, from its shape alone: the blob service is only used for the
 * lease; table rows are told apart by their partition prefix (src/table-layout), and queries by
 * their filter. No caller has to tag its calls, so the count cannot miss a code path.
 */
export function classifyStorageRequest(shape: StorageRequestShape): {
  kind: StorageTransactionKind;
  billing: BillingClass;
} {
  const method = shape.method.toUpperCase();
  let url: URL;
  try {
    url = new URL(shape.url);
  } catch {
    return { kind: 'other', billing: shape.service === 'table' ? 'table' : 'blob-other' };
  }
  if (shape.service === 'blob') return classifyBlob(method, url, shape.leaseAction);
  const path = decodeURIComponent(url.pathname);
  if (/\/Tables(\(.*\))?$/.test(path)) return { kind: 'setup', billing: 'table' };
  const table = (kind: StorageTransactionKind) => ({ kind, billing: 'table' as const });
  if (path.endsWith('/$batch')) {
    const body = typeof shape.body === 'string' ? shape.body : '';
    const inUrl = BATCH_PARTITION.exec(body)?.[1];
    const partition = inUrl === undefined ? jsonPartition(body) : decode(inUrl);
    return table(kindOfRow(partition, /^DELETE /m.test(body) ? 'delete' : 'write'));
  }
  const entity = ENTITY_PATH.exec(path);
  if (entity) {
    const op = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
    return table(kindOfRow(entity[1]!.replace(/''/g, "'"), op));
  }
  if (method === 'GET') {
    const filter = url.searchParams.get('$filter') ?? '';
    const partition = firstPartitionInFilter(filter);
    // The leader's retention pass reads rows older than a bound; polls read rows newer than one.
    if (partition?.startsWith(PREFIX.channel) && /RowKey\s+lt\s/.test(filter)) return table('retention');
    return table(kindOfRow(partition, 'query'));
  }
  if (method === 'POST') {
    const body = typeof shape.body === 'string' ? shape.body : '';
    return table(kindOfRow(jsonPartition(body), 'write'));
  }
  return table('other');
}

function classifyBlob(
  method: string,
  url: URL,
  leaseAction: string | undefined,
): { kind: StorageTransactionKind; billing: BillingClass } {
  const comp = url.searchParams.get('comp');
  if (url.searchParams.get('restype') === 'container') {
    return {
      kind: 'setup',
      billing: method === 'PUT' || comp === 'list' ? 'blob-list-create' : 'blob-other',
    };
  }
  if (leaseAction !== undefined || comp === 'lease') return { kind: 'lease', billing: 'blob-other' };
  if (method === 'PUT' && comp === null) return { kind: 'setup', billing: 'blob-write' };
  if (method === 'GET' && comp === null) return { kind: 'lease', billing: 'blob-read' };
  // Get Blob Properties (HEAD), Set Blob Metadata (the epoch write): "other" operations.
  return { kind: 'lease', billing: 'blob-other' };
}

function kindOfRow(
  partition: string | undefined,
  op: 'read' | 'write' | 'delete' | 'query',
): StorageTransactionKind {
  if (partition === undefined) return 'other';
  if (partition.startsWith(PREFIX.member) || partition.startsWith(PREFIX.memberDigest)) return 'membership';
  if (partition.startsWith(PREFIX.channel)) {
    if (op === 'delete') return 'retention';
    return op === 'write' ? 'publish' : 'bus-poll';
  }
  if (partition.startsWith(PREFIX.deadLetter)) return op === 'write' ? 'publish' : 'retention';
  if (partition.startsWith(PREFIX.cursor)) return 'cursor';
  // A query over the claims is the epoch floor read at each acquire; point reads and writes claim ticks.
  if (partition.startsWith(PREFIX.claim)) return op === 'query' ? 'lease' : 'tick-claim';
  return 'other';
}

function emptyCounts(): KindCounts {
  return { requests: 0, throttled: 0, table: 0, blobWrite: 0, blobRead: 0, blobOther: 0, blobListCreate: 0 };
}

const BILLING_FIELD = {
  table: 'table',
  'blob-write': 'blobWrite',
  'blob-read': 'blobRead',
  'blob-other': 'blobOther',
  'blob-list-create': 'blobListCreate',
} as const satisfies Record<BillingClass, keyof KindCounts>;

/**
 * Counts the storage transactions one connection sends, by kind, as the HTTP pipeline sees them
 * (one count per request sent, so SDK-level retries would count too; gossipless disables them).
 * Every {@link connectStorage} connection has one: `storage.transactions`.
 */
export class StorageTransactionCounter {
  readonly #counts = new Map<StorageTransactionKind, KindCounts>();
  readonly #now: () => number;
  #since: number;

  /** @param now monotonic milliseconds, for the per-hour rates. @default performance.now */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#since = now();
  }

  /** Counts one request (call it when the request is sent). Returns the kind it was counted as. */
  request(shape: StorageRequestShape): StorageTransactionKind {
    const { kind, billing } = classifyStorageRequest(shape);
    const counts = this.#countsOf(kind);
    counts.requests++;
    counts[BILLING_FIELD[billing]]++;
    return kind;
  }

  /** Counts a throttled answer to a request counted as `kind`. */
  throttled(kind: StorageTransactionKind): void {
    this.#countsOf(kind).throttled++;
  }

  /** Totals by kind (kinds with no request yet are left out): what `observeStorageTransactions` reads. */
  snapshot(): Partial<Record<StorageTransactionKind, KindCounts>> {
    const out: Partial<Record<StorageTransactionKind, KindCounts>> = {};
    for (const [kind, counts] of this.#counts) out[kind] = { ...counts };
    return out;
  }

  /** Totals by kind with per-hour rates since the counter was created (or reset). */
  counts(): TransactionCounts {
    const elapsedMs = Math.max(1, this.#now() - this.#since);
    const perHour = (n: number): number => Math.round((n * 3_600_000) / elapsedMs);
    const byKind = {} as TransactionCounts['byKind'];
    let requests = 0;
    let throttled = 0;
    for (const kind of STORAGE_TRANSACTION_KINDS) {
      const counts = this.#counts.get(kind) ?? emptyCounts();
      byKind[kind] = { ...counts, perHour: perHour(counts.requests) };
      requests += counts.requests;
      throttled += counts.throttled;
    }
    return { elapsedMs, byKind, total: { requests, throttled, perHour: perHour(requests) } };
  }

  /** Starts counting afresh (e.g. after start-up traffic, for a steady-state rate). */
  reset(): void {
    this.#counts.clear();
    this.#since = this.#now();
  }

  #countsOf(kind: StorageTransactionKind): KindCounts {
    let counts = this.#counts.get(kind);
    if (!counts) this.#counts.set(kind, (counts = emptyCounts()));
    return counts;
  }
}
