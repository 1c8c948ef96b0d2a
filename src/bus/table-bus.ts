import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ServerTimeEstimate, sleep, systemClock, type Clock } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { isValidNodeId, resolveNodeIdentity } from '../node-id/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  deadlineSignal,
  isAlreadyExists,
  isNotFound,
  isTransient,
  type StorageConnection,
  storageFailure,
} from '../storage/index.js';
import {
  MAX_PAYLOAD_BYTES,
  messageRowKey,
  parseBusRow,
  rowKeyLowerBound,
  timeOfRowKey,
  type BusMessage,
} from './bus-message.js';
import { busTableName, odataString } from './table-name.js';
import {
  busTelemetry,
  TRACE_CONTEXT_PROPERTY,
  type BusTelemetry,
  type BusTelemetrySource,
  type PublishTrace,
} from '../telemetry/index.js';

/** Options of {@link TableBus}. */
export interface TableBusOptions {
  storage: StorageConnection;
  /** Cluster name (lowercase letters, digits, `-`). */
  cluster: string;
  /** @default host-pid-random */
  nodeId?: string;
  /** The table is `<tablePrefix>bus`. @default 'gossipless' */
  tablePrefix?: string;
  /** How often subscribers poll. @default 1000 */
  pollIntervalMs?: number;
  /**
   * How far behind the last poll each poll looks again, so rows committed late or keyed by a
   * publisher whose server-time estimate lags are still seen. @default 10000
   */
  lookbackMs?: number;
  /** The leader deletes messages older than this. @default 600000 */
  retentionMs?: number;
  /** Deadline of each storage call. @default 5000 */
  callTimeoutMs?: number;
  /**
   * A durable consumer name: the read position is stored in the table, so a restarted consumer
   * resumes where it stopped (at-least-once). Without it, a consumer starts at "now − lookback".
   */
  consumerName?: string;
  /** The publisher's epoch while leader; stamped on every message. */
  epoch?: () => number | undefined;
  /** Whether this node leads (it then runs retention). @default () => false */
  isLeader?: () => boolean;
  /** @default systemClock */
  clock?: Clock;
  /** Shared server-time estimate (one per node). */
  serverTime?: ServerTimeEstimate;
  /** @default silent */
  logger?: Logger;
}

/** Counters, for status and tests. */
export interface TableBusStats {
  published: number;
  delivered: number;
  duplicates: number;
  /** Rows skipped because they failed validation. */
  malformed: number;
  handlerErrors: number;
  pollErrors: number;
  retentionDeleted: number;
}

/** Events of {@link TableBus}. */
export interface TableBusEvents {
  /** A row failed validation and was skipped. */
  malformed: { id: string; channel: string | undefined; reason: string };
  /** A storage call failed; the bus keeps going. */
  error: { error: GossiplessError; during: 'setup' | 'publish' | 'poll' | 'retention' | 'cursor' };
}

/** A message handler. Its rejection is counted and logged, and does not stop delivery. */
export type BusHandler<T = unknown> = (message: BusMessage<T>) => void | Promise<void>;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

interface Pending {
  channel: string;
  json: string;
  epoch: number | undefined;
  bytes: number;
  trace: PublishTrace | undefined;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

const CHANNEL_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
// Azure: ≤ 100 entities and ≤ 4 MiB per entity-group transaction; keep headroom for the envelope.
const MAX_BATCH_ENTITIES = 100;
const MAX_BATCH_BYTES = 3.5 * 1024 * 1024;

/**
 * A publish/subscribe bus on one Azure Table: one partition per channel, one row per message.
 * Delivery is at-least-once, in order per publisher, deduplicated by message id.
 *
 * @example
 * ```ts
 * const bus = new TableBus({ storage, cluster: 'orders' });
 * bus.subscribe('jobs', (m) => console.log(m.from, m.payload));
 * await bus.start();
 * await bus.publish('jobs', { done: 'sweep' });
 * ```
 */
export class TableBus extends TypedEmitter<TableBusEvents> {
  readonly nodeId: string;
  readonly cluster: string;
  readonly tableName: string;
  readonly #storage: StorageConnection;
  readonly #table: TableClient;
  readonly #pollIntervalMs: number;
  readonly #lookbackMs: number;
  readonly #retentionMs: number;
  readonly #callTimeoutMs: number;
  readonly #consumerName: string | undefined;
  readonly #epoch: () => number | undefined;
  readonly #isLeader: () => boolean;
  readonly #serverTime: ServerTimeEstimate;
  readonly #logger: Logger;
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #seq = new Map<string, number>();
  readonly #lastKeyTime = new Map<string, number>();
  readonly #queues = new Map<string, Pending[]>();
  readonly #flushing = new Map<string, Promise<void>>();
  /** Ids delivered, with their key time, pruned once older than the look-back. */
  readonly #seen = new Map<string, number>();
  #readFrom: number | undefined;
  #tableReady: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  readonly #stop = new AbortController();
  #wake = new AbortController();
  #lastRetention = -Infinity;
  #lastCursorWrite = -Infinity;
  readonly #telemetry: BusTelemetry;
  /** Counters since start. */
  readonly stats: TableBusStats = {
    published: 0,
    delivered: 0,
    duplicates: 0,
    malformed: 0,
    handlerErrors: 0,
    pollErrors: 0,
    retentionDeleted: 0,
  };

  constructor(options: TableBusOptions) {
    super((error, event) => this.#logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`));
    const identity = resolveNodeIdentity(options);
    this.nodeId = identity.nodeId;
    this.cluster = identity.cluster;
    this.tableName = busTableName(options.tablePrefix);
    this.#storage = options.storage;
    this.#table = options.storage.tableClient(this.tableName);
    this.#pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 1000);
    this.#lookbackMs = positive('lookbackMs', options.lookbackMs ?? 10_000);
    this.#retentionMs = positive('retentionMs', options.retentionMs ?? 600_000);
    this.#callTimeoutMs = positive('callTimeoutMs', options.callTimeoutMs ?? 5000);
    if (this.#retentionMs <= this.#lookbackMs * 2) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `retentionMs (${this.#retentionMs}) must exceed twice lookbackMs (${this.#lookbackMs}), or messages could be deleted before every consumer read them`,
      );
    }
    if (options.consumerName !== undefined && !isValidNodeId(options.consumerName)) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `consumerName "${options.consumerName}" must be letters, digits, '.', '_' or '-'`,
      );
    }
    this.#consumerName = options.consumerName;
    this.#epoch = options.epoch ?? (() => undefined);
    this.#isLeader = options.isLeader ?? (() => false);
    this.#serverTime = options.serverTime ?? new ServerTimeEstimate(options.clock ?? systemClock);
    this.#logger = redactingLogger(options.logger);
    this.#telemetry = busTelemetry(this.#telemetrySource());
  }

  /** Creates the table if needed and starts polling. Idempotent; storage outages are retried, not thrown. */
  async start(): Promise<void> {
    if (this.#stop.signal.aborted)
      throw new GossiplessError('STOPPED', 'this bus was stopped; create a new one');
    this.#loop ??= this.#pollLoop();
  }

  /** Stops polling and waits for in-flight publishes and deliveries. Idempotent. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#wake.abort();
    await this.#loop;
    await Promise.allSettled([...this.#flushing.values()]);
    await this.#writeCursor(true);
    this.#telemetry.close();
  }

  /**
   * Publishes a payload (any JSON value) on a channel. Resolves with the message id once stored.
   * Messages published together are written in one entity-group transaction.
   *
   * @throws GossiplessError `PAYLOAD_TOO_LARGE` when the JSON exceeds 64 KiB; `INVALID_INPUT` for a bad channel.
   */
  publish(channel: string, payload: unknown, options: { abortSignal?: AbortSignal } = {}): Promise<string> {
    try {
      assertChannel(channel);
    } catch (error) {
      return Promise.reject(error);
    }
    const json = JSON.stringify(payload);
    if (json === undefined) {
      return Promise.reject(
        new GossiplessError('INVALID_INPUT', `payload on channel "${channel}" is not JSON-serialisable`),
      );
    }
    // Azure counts string properties in UTF-16: 2 bytes per code unit.
    const bytes = json.length * 2;
    if (bytes > MAX_PAYLOAD_BYTES) {
      return Promise.reject(
        new GossiplessError(
          'PAYLOAD_TOO_LARGE',
          `payload on channel "${channel}" is ${bytes} bytes as stored; the limit is ${MAX_PAYLOAD_BYTES} (Azure's 64 KiB per property): store the data in a blob and publish its name`,
        ),
      );
    }
    const epoch = this.#epoch();
    return new Promise<string>((resolve, reject) => {
      const queue = this.#queues.get(channel) ?? [];
      this.#queues.set(channel, queue);
      queue.push({
        channel,
        json,
        epoch,
        bytes: bytes + 512,
        trace: this.#telemetry.publish(channel),
        resolve,
        reject,
      });
      if (!this.#flushing.has(channel)) {
        this.#flushing.set(channel, this.#flushQueue(channel, options.abortSignal));
      }
    });
  }

  /** Gives queued messages their keys. Done at write time, once the server's clock is known. */
  #toEntity(pending: Pending): Entity {
    const { channel } = pending;
    const seq = (this.#seq.get(channel) ?? 0) + 1;
    this.#seq.set(channel, seq);
    // Keys must grow per publisher and channel even if the estimate steps back.
    const time = Math.max(this.#serverTime.nowOrLocal(), this.#lastKeyTime.get(channel) ?? 0);
    this.#lastKeyTime.set(channel, time);
    return {
      partitionKey: this.#partition(channel),
      rowKey: messageRowKey(time, this.nodeId, seq),
      channel,
      nodeId: this.nodeId,
      seq,
      payload: pending.json,
      ...(pending.epoch !== undefined ? { epoch: pending.epoch } : {}),
      ...(pending.trace?.carrier !== undefined ? { [TRACE_CONTEXT_PROPERTY]: pending.trace.carrier } : {}),
    };
  }

  /** Subscribes to a channel; returns a function that unsubscribes. */
  subscribe<T = unknown>(channel: string, handler: BusHandler<T>): () => void {
    assertChannel(channel);
    const set = this.#handlers.get(channel) ?? new Set<BusHandler>();
    this.#handlers.set(channel, set);
    set.add(handler as BusHandler);
    this.#wake.abort();
    return () => {
      set.delete(handler as BusHandler);
      if (set.size === 0) this.#handlers.delete(channel);
    };
  }

  /** Best estimate of the storage server's clock. */
  serverNow(): number {
    return this.#serverTime.nowOrLocal();
  }

  #partition(channel: string): string {
    return `c:${this.cluster}:${channel}`;
  }

  /**
   * An `onResponse` callback that feeds the server-time estimate. Call it just before the request:
   * it takes the send time then, which bounds the server's clock from above (see ServerTimeEstimate).
   */
  #observer(): (response: { headers: { get(name: string): string | undefined } }) => void {
    const sentAt = this.#serverTime.monotonicNow();
    return (response) => this.#serverTime.observe(response.headers.get('date'), sentAt);
  }

  #ensureTable(): Promise<void> {
    this.#tableReady ??= this.#storage
      .createTableIfNotExists(this.tableName, { abortSignal: deadlineSignal(this.#callTimeoutMs) })
      .then(
        () => undefined,
        (error: unknown) => {
          this.#tableReady = undefined;
          throw error;
        },
      );
    return this.#tableReady;
  }

  async #flushQueue(channel: string, abortSignal: AbortSignal | undefined): Promise<void> {
    const queue = this.#queues.get(channel) ?? [];
    for (;;) {
      // Leave the map in the same tick as the empty check: a publish() that runs after a resolved
      // message must see no flush in progress and start one, or its message would be stranded.
      if (queue.length === 0) {
        this.#flushing.delete(channel);
        return;
      }
      const batch: Pending[] = [];
      let bytes = 0;
      while (
        queue.length > 0 &&
        batch.length < MAX_BATCH_ENTITIES &&
        bytes + queue[0]!.bytes <= MAX_BATCH_BYTES
      ) {
        const next = queue.shift()!;
        batch.push(next);
        bytes += next.bytes;
      }
      try {
        await this.#ensureTable();
        await this.#learnServerTime(abortSignal);
        const entities = batch.map((p) => this.#toEntity(p));
        await this.#writeBatch(entities, abortSignal, batch[0]?.trace);
        this.stats.published += batch.length;
        batch.forEach((p, i) => {
          p.trace?.end();
          p.resolve(entities[i]!.rowKey);
        });
      } catch (error) {
        if (isNotFound(error)) this.#tableReady = undefined;
        const wrapped = this.#wrap('publish', error);
        this.emit('error', { error: wrapped, during: 'publish' });
        for (const p of batch) {
          p.trace?.end(wrapped);
          p.reject(wrapped);
        }
      }
    }
  }

  /** One cheap read to learn the server's clock, when no response has told it yet. */
  async #learnServerTime(abortSignal: AbortSignal | undefined): Promise<void> {
    if (this.#serverTime.now() !== undefined) return;
    await this.#table
      .getEntity(`k:${this.cluster}`, '-', {
        abortSignal: deadlineSignal(this.#callTimeoutMs, abortSignal),
        onResponse: this.#observer(),
      })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
  }

  async #writeBatch(
    entities: Entity[],
    abortSignal: AbortSignal | undefined,
    trace: PublishTrace | undefined,
  ): Promise<void> {
    // The storage SDK's own spans (when the user enables its tracing) nest under the publish span.
    const tracingOptions = trace ? { tracingContext: trace.context } : undefined;
    // Retry transient failures a few times; the same row keys make a retry after an unknown
    // outcome safe (the store answers "already exists").
    for (let attempt = 1; ; attempt++) {
      try {
        if (entities.length === 1) {
          await this.#table.createEntity(entities[0]!, {
            abortSignal: deadlineSignal(this.#callTimeoutMs, abortSignal),
            onResponse: this.#observer(),
            tracingOptions,
          });
        } else {
          const actions: TransactionAction[] = entities.map((e) => ['create', e]);
          await this.#table.submitTransaction(actions, {
            abortSignal: deadlineSignal(this.#callTimeoutMs, abortSignal),
            onResponse: this.#observer(),
            tracingOptions,
          });
        }
        return;
      } catch (error) {
        if (attempt > 1 && isAlreadyExists(error)) return;
        if (!isTransient(error) || attempt >= 4 || abortSignal?.aborted) throw error;
        await sleep(200 * attempt, abortSignal);
      }
    }
  }

  async #pollLoop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (this.#handlers.size > 0 || this.#isLeader()) {
        try {
          await this.#ensureTable();
          if (this.#handlers.size > 0) await this.#poll(stop);
          if (this.#isLeader()) await this.#maybeRunRetention(stop);
        } catch (error) {
          if (stop.aborted) break;
          // The table can vanish (deleted by hand, an emulator restarted in memory): recreate it.
          if (isNotFound(error)) this.#tableReady = undefined;
          this.stats.pollErrors++;
          this.emit('error', { error: this.#wrap('poll', error), during: 'poll' });
        }
      }
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      const polling = this.#handlers.size > 0;
      await sleep(
        polling ? this.#nextPollDelay() : this.#pollIntervalMs,
        stop,
        polling ? undefined : this.#wake.signal,
      );
    }
  }

  /**
   * The poll interval, brought forward by up to a second (never for intervals under a second) while
   * the server-time estimate is wide, so the next poll reaches the server as its clock turns a
   * second: that response narrows the estimate most. Never later than the interval: a graceful
   * handover is promised within one poll, so probing costs a few extra polls instead.
   */
  #nextPollDelay(): number {
    const interval = this.#pollIntervalMs;
    const probe = interval >= 1000 ? this.#serverTime.msUntilProbe() : undefined;
    if (probe === undefined) return interval;
    return interval - ((((interval - probe) % 1000) + 1000) % 1000);
  }

  async #initialReadFrom(stop: AbortSignal): Promise<number> {
    if (this.#consumerName) {
      try {
        const row = await this.#table.getEntity<{ readFrom?: number }>(
          `k:${this.cluster}`,
          this.#consumerName,
          {
            abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
            onResponse: this.#observer(),
          },
        );
        if (typeof row.readFrom === 'number') return row.readFrom;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    // Learn the server's time before choosing where to start reading.
    await this.#learnServerTime(stop);
    return this.#serverTime.nowOrLocal();
  }

  async #poll(stop: AbortSignal): Promise<void> {
    this.#readFrom ??= await this.#initialReadFrom(stop);
    const pollStart = this.#serverTime.nowOrLocal();
    const lower = rowKeyLowerBound(this.#readFrom - this.#lookbackMs);
    const channels = [...this.#handlers.keys()];
    const partitions = channels.map((c) => `PartitionKey eq ${odataString(this.#partition(c))}`).join(' or ');
    const filter = `(${partitions}) and RowKey ge ${odataString(lower)}`;
    const rows: Array<Record<string, unknown>> = [];
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        abortSignal: deadlineSignal(this.#callTimeoutMs * 4, stop),
        onResponse: this.#observer(),
      })
      .byPage({ maxPageSize: 1000 });
    for await (const page of pages) rows.push(...page);
    rows.sort((a, b) => String(a['rowKey']).localeCompare(String(b['rowKey'])));
    for (const row of rows) {
      if (stop.aborted) return;
      await this.#deliver(row);
    }
    this.#readFrom = pollStart;
    this.#pruneSeen(pollStart - this.#lookbackMs * 2);
    await this.#writeCursor(false);
  }

  async #deliver(row: Record<string, unknown>): Promise<void> {
    const id = String(row['rowKey']);
    if (this.#seen.has(id)) {
      this.stats.duplicates++;
      return;
    }
    this.#seen.set(id, timeOfRowKey(id) ?? 0);
    const parsed = parseBusRow(row);
    if ('reason' in parsed) {
      this.stats.malformed++;
      const channel = typeof row['channel'] === 'string' ? row['channel'] : undefined;
      this.#logger.warn(`skipped malformed bus row ${id} on channel ${channel ?? '?'}: ${parsed.reason}`);
      this.emit('malformed', { id, channel, reason: parsed.reason });
      return;
    }
    const handlers = this.#handlers.get(parsed.message.channel);
    if (!handlers) return;
    this.stats.delivered++;
    const delivered = this.#telemetry.deliver(parsed.message, row[TRACE_CONTEXT_PROPERTY], this.serverNow());
    const errorsBefore = this.stats.handlerErrors;
    for (const handler of [...handlers]) {
      try {
        await handler(parsed.message);
      } catch (error) {
        this.stats.handlerErrors++;
        this.#logger.error(`a handler on channel ${parsed.message.channel} threw: ${redactUnknown(error)}`);
      }
    }
    delivered(this.stats.handlerErrors > errorsBefore);
  }

  #pruneSeen(olderThan: number): void {
    for (const [id, time] of this.#seen) if (time < olderThan) this.#seen.delete(id);
  }

  async #writeCursor(force: boolean): Promise<void> {
    if (!this.#consumerName || this.#readFrom === undefined) return;
    const now = this.#serverTime.nowOrLocal();
    if (!force && now - this.#lastCursorWrite < 5000) return;
    this.#lastCursorWrite = now;
    try {
      await this.#table.upsertEntity(
        { partitionKey: `k:${this.cluster}`, rowKey: this.#consumerName, readFrom: this.#readFrom },
        'Replace',
        { abortSignal: deadlineSignal(this.#callTimeoutMs), onResponse: this.#observer() },
      );
    } catch (error) {
      this.emit('error', { error: this.#wrap('cursor', error), during: 'cursor' });
    }
  }

  async #maybeRunRetention(stop: AbortSignal): Promise<void> {
    const now = this.#serverTime.nowOrLocal();
    if (now - this.#lastRetention < Math.min(60_000, this.#retentionMs / 4)) return;
    this.#lastRetention = now;
    const cutoff = rowKeyLowerBound(now - this.#retentionMs);
    const prefix = `c:${this.cluster}:`;
    const filter =
      `PartitionKey ge ${odataString(prefix)} and PartitionKey lt ${odataString(`c:${this.cluster};`)}` +
      ` and RowKey lt ${odataString(cutoff)}`;
    const byPartition = new Map<string, string[]>();
    for await (const row of this.#table.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['PartitionKey', 'RowKey'] },
      abortSignal: deadlineSignal(this.#callTimeoutMs * 4, stop),
      onResponse: this.#observer(),
    })) {
      const list = byPartition.get(row.partitionKey!) ?? [];
      list.push(row.rowKey!);
      byPartition.set(row.partitionKey!, list);
    }
    for (const [partitionKey, rowKeys] of byPartition) {
      for (let i = 0; i < rowKeys.length; i += MAX_BATCH_ENTITIES) {
        if (!this.#isLeader() || stop.aborted) return;
        const actions: TransactionAction[] = rowKeys
          .slice(i, i + MAX_BATCH_ENTITIES)
          .map((rowKey) => ['delete', { partitionKey, rowKey }]);
        await this.#table.submitTransaction(actions, {
          abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
          onResponse: this.#observer(),
        });
        this.stats.retentionDeleted += actions.length;
      }
    }
  }

  #wrap(during: string, error: unknown): GossiplessError {
    return storageFailure(`bus ${during} on table ${this.tableName}`, error);
  }

  /**
   * What the metrics read at collection time. Dead letters are read from `stats.deadLettered`
   * when the bus counts them (redelivery with a dead-letter channel).
   */
  #telemetrySource(): BusTelemetrySource {
    return {
      cluster: this.cluster,
      nodeId: this.nodeId,
      stats: this.stats,
      consumerLagMs: () =>
        this.#handlers.size > 0 && this.#readFrom !== undefined
          ? this.serverNow() - this.#readFrom
          : undefined,
      queuedForPublish: () => {
        let queued = 0;
        for (const queue of this.#queues.values()) queued += queue.length;
        return queued;
      },
    };
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `${name} must be a positive number of ms, got ${String(value)}`,
    );
  }
  return value;
}

function assertChannel(channel: string): void {
  if (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `channel "${String(channel)}" must be 1–64 letters, digits, '.', '_' or '-'`,
    );
  }
}
