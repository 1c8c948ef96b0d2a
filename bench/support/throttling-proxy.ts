import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { pipeAnswer, ProxyServer, proxyPair, type ProxyPair } from './proxy-server.js';

/**
 * Azure Storage's documented scalability targets (standard general-purpose v2 account), the limits a
 * real account throttles at and Azurite never does.
 * https://learn.microsoft.com/azure/storage/tables/scalability-targets
 */
export interface ScalabilityTargets {
  /** Entities per second per table partition (1 KiB entities). @default 2000 */
  partitionEntitiesPerSecond: number;
  /** Entities per second per table (1 KiB entities). @default 20000 */
  tableEntitiesPerSecond: number;
  /** Requests per second per account, blob and table together. @default 20000 */
  accountRequestsPerSecond: number;
}

/** Azure's targets. */
export const AZURE_TARGETS: ScalabilityTargets = {
  partitionEntitiesPerSecond: 2000,
  tableEntitiesPerSecond: 20_000,
  accountRequestsPerSecond: 20_000,
};

/** Why a request was refused. */
export type ThrottleReason = 'partition' | 'table' | 'account';

/** What a table request does, as far as the scalability targets care. */
export type RequestKind = 'query' | 'point-read' | 'write' | 'batch' | 'table-op' | 'blob';

/** One request seen by the proxy. */
export interface ThrottledRequest {
  method: string;
  url: string;
  kind: RequestKind;
  /** The partition it targets, when one can be told from the URL, the filter or the body. */
  partition: string | undefined;
  table: string | undefined;
  /** Entities read (counted from the response) or written. */
  entities: number;
  sentAt: number;
  status: number | undefined;
  /** Set when the proxy answered 503 itself without forwarding. */
  throttled: ThrottleReason | undefined;
}

/**
 * A token bucket holding one window (1 s) of its rate: `rate` tokens a second refilled
 * continuously, at most `rate × window` banked. Reads of unknown size are charged after the answer, so the level may go negative
 * (a debt that the refill repays before anything else is admitted) — the way a hot partition stays
 * throttled for a while after one large scan.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;
  /** Most tokens banked: one window of the rate. */
  readonly capacity: number;

  constructor(
    readonly rate: number,
    readonly now: () => number = () => performance.now(),
    windowSeconds = 1,
  ) {
    this.capacity = rate * windowSeconds;
    this.#tokens = this.capacity;
    this.#at = now();
  }

  /** Tokens available now (negative while in debt). */
  level(): number {
    const now = this.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    return this.#tokens;
  }

  /** Whether `amount` tokens are available (for an unknown amount, whether the level is positive). */
  has(amount: number): boolean {
    const level = this.level();
    return amount > 0 ? level >= amount : level > 0;
  }

  take(amount: number): void {
    this.level();
    this.#tokens -= amount;
  }

  /** Seconds until `amount` tokens (or a positive level) are available. */
  secondsUntil(amount: number): number {
    const missing = Math.max(amount, 1e-9) - this.level();
    return missing <= 0 ? 0 : missing / this.rate;
  }
}

/**
 * The buckets of one emulated account, shared by its blob and table proxies: one per account
 * (requests), one per table (entities) and one per table partition (entities).
 */
export class AccountLimits {
  readonly account: TokenBucket;
  readonly #tables = new Map<string, TokenBucket>();
  readonly #partitions = new Map<string, TokenBucket>();
  /** Requests refused, by reason and by kind of request. */
  throttled: Record<ThrottleReason, number> = { partition: 0, table: 0, account: 0 };
  throttledByKind: Partial<Record<RequestKind, number>> = {};

  /**
   * @param windowSeconds - 1 as Azure; k for a bench run in slow motion (timings × k, targets ÷ k),
   *   so a bucket still holds what it holds at real speed: one scan of N rows is one burst either way.
   */
  constructor(
    readonly targets: ScalabilityTargets = AZURE_TARGETS,
    readonly now: () => number = () => performance.now(),
    readonly windowSeconds = 1,
  ) {
    this.account = new TokenBucket(targets.accountRequestsPerSecond, now, windowSeconds);
  }

  table(name: string): TokenBucket {
    let bucket = this.#tables.get(name);
    if (!bucket)
      this.#tables.set(
        name,
        (bucket = new TokenBucket(this.targets.tableEntitiesPerSecond, this.now, this.windowSeconds)),
      );
    return bucket;
  }

  partition(table: string, partitionKey: string): TokenBucket {
    const key = `${table}\u0000${partitionKey}`;
    let bucket = this.#partitions.get(key);
    if (!bucket) {
      this.#partitions.set(
        key,
        (bucket = new TokenBucket(this.targets.partitionEntitiesPerSecond, this.now, this.windowSeconds)),
      );
    }
    return bucket;
  }

  /**
   * Admits a request or names the limit it breaks. `entities` is the number written (0 for a read,
   * whose size is charged after the answer by {@link chargeRead}). Admitted requests are charged.
   */
  admit(
    request: Pick<ThrottledRequest, 'kind' | 'table' | 'partition'>,
    entities: number,
  ): { reason: ThrottleReason; retryAfterSeconds: number } | undefined {
    const checks: Array<[ThrottleReason, TokenBucket, number]> = [['account', this.account, 1]];
    if (request.table && isEntityKind(request.kind)) {
      checks.push(['table', this.table(request.table), entities]);
      if (request.partition !== undefined)
        checks.push(['partition', this.partition(request.table, request.partition), entities]);
    }
    for (const [reason, bucket, amount] of checks) {
      if (!bucket.has(amount)) {
        this.throttled[reason]++;
        this.throttledByKind[request.kind] = (this.throttledByKind[request.kind] ?? 0) + 1;
        return { reason, retryAfterSeconds: Math.max(1, Math.ceil(bucket.secondsUntil(amount))) };
      }
    }
    for (const [, bucket, amount] of checks) bucket.take(amount);
    return undefined;
  }

  /** Charges entities a query returned: per partition when the rows carry it, else the table only. */
  chargeRead(table: string, perPartition: Map<string | undefined, number>): void {
    for (const [partitionKey, count] of perPartition) {
      this.table(table).take(count);
      if (partitionKey !== undefined) this.partition(table, partitionKey).take(count);
    }
  }

  resetCounts(): void {
    this.throttled = { partition: 0, table: 0, account: 0 };
    this.throttledByKind = {};
  }
}

function isEntityKind(kind: RequestKind): boolean {
  return kind === 'query' || kind === 'point-read' || kind === 'write' || kind === 'batch';
}

/** OData string literal inside a key predicate or filter: `'a''b'` → `a'b`. */
function unquote(literal: string): string {
  return literal.replace(/''/g, "'");
}

/** Reads what a table request targets from its method, path and (for inserts and batches) body. */
export function classifyTableRequest(
  method: string,
  url: string,
  body: string,
): Pick<ThrottledRequest, 'kind' | 'table' | 'partition' | 'entities'> {
  const parsed = new URL(url, 'http://proxy');
  // Path: /<account>/<resource>; the emulator's account is the first segment.
  const resource = decodeURIComponent(parsed.pathname.split('/').slice(2).join('/'));
  if (resource === '$batch') {
    const operations = body.match(/^(?:GET|PUT|POST|MERGE|PATCH|DELETE) http\S* HTTP\/1\.1/gm) ?? [];
    const fromUrl = /PartitionKey='((?:[^']|'')*)'/.exec(decodeURIComponentSafe(body));
    const fromBody = /"PartitionKey"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(body);
    const table = /^(?:GET|PUT|POST|MERGE|PATCH|DELETE) http:\/\/[^/]+\/[^/]+\/([A-Za-z0-9]+)/m.exec(
      body,
    )?.[1];
    const partition = fromUrl
      ? unquote(fromUrl[1]!)
      : fromBody
        ? (JSON.parse(`"${fromBody[1]!}"`) as string)
        : undefined;
    return { kind: 'batch', table, partition, entities: operations.length };
  }
  if (/^Tables(\(|$)/.test(resource) || resource === '') {
    return { kind: 'table-op', table: undefined, partition: undefined, entities: 0 };
  }
  const keyed = /^([A-Za-z0-9]+)\(PartitionKey='((?:[^']|'')*)',\s*RowKey='((?:[^']|'')*)'\)$/.exec(resource);
  if (keyed) {
    const kind = method === 'GET' ? 'point-read' : 'write';
    return { kind, table: keyed[1], partition: unquote(keyed[2]!), entities: kind === 'write' ? 1 : 0 };
  }
  const table = /^([A-Za-z0-9]+)(\(\))?$/.exec(resource)?.[1];
  if (method === 'GET') {
    // One partition when the filter pins exactly one PartitionKey and has no `or`.
    const filter = parsed.searchParams.get('$filter') ?? '';
    const equalities = [...filter.matchAll(/PartitionKey eq '((?:[^']|'')*)'/g)];
    const partition =
      equalities.length === 1 && !/\bor\b/.test(filter) ? unquote(equalities[0]![1]!) : undefined;
    return { kind: 'query', table, partition, entities: 0 };
  }
  // POST /<table>: an insert; the key is in the body.
  const fromBody = /"PartitionKey"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(body);
  return {
    kind: 'write',
    table,
    partition: fromBody ? (JSON.parse(`"${fromBody[1]!}"`) as string) : undefined,
    entities: 1,
  };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * An HTTP proxy in front of one Azurite service port that enforces Azure's scalability targets the
 * way Azure does: beyond a partition's 2,000 entities/s, a table's 20,000 entities/s or the
 * account's 20,000 requests/s it answers `503 ServerBusy` itself (Azure's error body, the
 * `x-ms-error-code` header and a `Retry-After`) without forwarding. Buckets hold one second of their
 * rate.
 *
 * What is counted, and the approximations:
 * - writes (insert, update, merge, delete) charge 1 entity to their partition before forwarding;
 *   an entity-group batch charges one entity per operation to its (single) partition.
 * - point reads and queries are admitted while their buckets are positive and charged after the
 *   answer with the entities it returned — per partition from each returned row's `PartitionKey`;
 *   rows whose query selected the key away are charged to the filter's partition when the filter
 *   pins exactly one, else to the table's bucket only.
 * - entity size is ignored (the targets are stated for 1 KiB entities; larger ones throttle sooner
 *   on Azure).
 * - blob requests count against the account only.
 */
export class ThrottlingProxy extends ProxyServer<ThrottledRequest> {
  constructor(
    readonly limits: AccountLimits,
    readonly service: 'table' | 'blob',
    targetPort: number,
    targetHost = '127.0.0.1',
  ) {
    super(targetPort, targetHost);
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => this.#forward(req, res, Buffer.concat(chunks)));
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const target =
      this.service === 'table'
        ? classifyTableRequest(method, url, body.toString('utf8'))
        : { kind: 'blob' as const, table: undefined, partition: undefined, entities: 0 };
    const record: ThrottledRequest = {
      method,
      url,
      ...target,
      sentAt: Date.now(),
      status: undefined,
      throttled: undefined,
    };
    this.requests.push(record);
    const refusal = this.limits.admit(record, target.entities);
    if (refusal) {
      record.throttled = refusal.reason;
      record.status = 503;
      this.#serverBusy(req, res, refusal.reason, refusal.retryAfterSeconds);
      return;
    }
    this.sendUpstream(req, res, body, (answer) => {
      record.status = answer.statusCode;
      const table = record.table;
      if (!table || (record.kind !== 'point-read' && record.kind !== 'query')) {
        pipeAnswer(answer, res);
        return;
      }
      // A point read returns one entity when it succeeds: only query answers are parsed to count theirs.
      if (record.kind === 'point-read') {
        const found = (answer.statusCode ?? 0) >= 200 && (answer.statusCode ?? 0) < 300;
        record.entities = found ? 1 : 0;
        if (found) this.limits.chargeRead(table, new Map([[record.partition, 1]]));
        pipeAnswer(answer, res);
        return;
      }
      const parts: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => parts.push(chunk));
      answer.on('error', () => res.destroy());
      answer.on('end', () => {
        const text = Buffer.concat(parts);
        const perPartition = countReturnedEntities(text.toString('utf8'), record, answer.statusCode ?? 0);
        record.entities = [...perPartition.values()].reduce((a, b) => a + b, 0);
        this.limits.chargeRead(table, perPartition);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(text);
      });
    });
  }

  /** Azure's answer when a target is exceeded (the JSON error shape of the Table service, XML for Blob). */
  #serverBusy(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    reason: ThrottleReason,
    retryAfterSeconds: number,
  ): void {
    const requestId = randomUUID();
    const message =
      reason === 'account' ? 'Operations per second is over the account limit.' : 'The server is busy.';
    const text = `${message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}`;
    const headers: http.OutgoingHttpHeaders = {
      'x-ms-error-code': 'ServerBusy',
      'x-ms-request-id': requestId,
      'x-ms-version': req.headers['x-ms-version'] ?? '2019-02-02',
      'retry-after': String(retryAfterSeconds),
      date: new Date().toUTCString(),
    };
    let payload: string;
    if (this.service === 'blob') {
      headers['content-type'] = 'application/xml';
      payload = `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>${text}</Message></Error>`;
    } else {
      headers['content-type'] = 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8';
      payload = JSON.stringify({
        'odata.error': { code: 'ServerBusy', message: { lang: 'en-US', value: text } },
      });
    }
    res.writeHead(503, 'Server Busy', headers);
    res.end(payload);
  }
}

/** Entities in a query's answer, by partition (undefined: the partition cannot be told). */
function countReturnedEntities(
  text: string,
  request: Pick<ThrottledRequest, 'partition'>,
  status: number,
): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  if (status < 200 || status >= 300) return counts;
  let rows: Array<Record<string, unknown>>;
  try {
    rows = (JSON.parse(text) as { value?: Array<Record<string, unknown>> }).value ?? [];
  } catch {
    return counts;
  }
  for (const row of rows) {
    const key = typeof row['PartitionKey'] === 'string' ? row['PartitionKey'] : request.partition;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** A blob + table throttling proxy pair sharing one account's limits, and a connection string through them. */
export interface ThrottledStorage extends ProxyPair<ThrottlingProxy> {
  limits: AccountLimits;
}

/** Starts a throttling blob + table proxy pair in front of an Azurite instance. */
export async function throttleStorage(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
  targets: ScalabilityTargets = AZURE_TARGETS,
  windowSeconds = 1,
): Promise<ThrottledStorage> {
  const limits = new AccountLimits(targets, undefined, windowSeconds);
  const pair = await proxyPair(
    azurite,
    connectionStringFor,
    (port, service) => new ThrottlingProxy(limits, service, port),
  );
  return {
    ...pair,
    limits,
    reset: () => {
      pair.reset();
      limits.resetCounts();
    },
  };
}
