import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ServerTimeEstimate, sleep, systemClock, type Clock } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { isValidNodeId, resolveNodeIdentity } from '../node-id/index.js';
import { redactUnknown } from '../redact/index.js';
import {
  deadlineSignal,
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
import {
  busTableName,
  channelPartition,
  channelPartitionsFilter,
  cursorPartition,
  deadLetterPartitionsFilter,
  odataString,
  partitionEquals,
} from '../table-layout/index.js';
import { deadLetterEntity } from './dead-letter.js';
import {
  longestRedeliveryMs,
  Redelivery,
  resolveRedeliveryOptions,
  type RedeliveryHandler,
  type RedeliveryOptions,
} from './redelivery.js';
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
  /**
   * Deadline of each storage call. A publish attempt's deadline is the smaller of this and
   * `lookbackMs / 2` (see docs/bus.md, *The publish bound*). @default 5000
   */
  callTimeoutMs?: number;
  /** How a message whose handler throws is delivered again, then parked (see {@link RedeliveryOptions}). */
  redelivery?: RedeliveryOptions;
  /** The leader deletes dead letters older than this. @default 604800000 (7 days) */
  deadLetterRetentionMs?: number;
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
  /** Deliveries after the first, of messages whose handler threw. */
  redeliveries: number;
  /** Messages parked on the dead-letter partition after their last attempt. */
  deadLettered: number;
  pollErrors: number;
  retentionDeleted: number;
}

/** Events of {@link TableBus}. */
export interface TableBusEvents {
  /** A row failed validation and was skipped. */
  malformed: { id: string; channel: string | undefined; reason: string };
  /** A message was parked on the dead-letter partition after its last delivery attempt. */
  'dead-lettered': { id: string; channel: string; from: string; attempts: number; error: string };
  /** A storage call failed; the bus keeps going. */
  error: {
    error: GossiplessError;
    during: 'setup' | 'publish' | 'poll' | 'retention' | 'cursor' | 'dead-letter';
  };
}

/**
 * A message handler. If it throws or rejects, the message is delivered to it again after a pause
 * (later messages of the same publisher on the channel wait), then parked on the dead-letter
 * partition: see {@link RedeliveryOptions}.
 */
export type BusHandler<T = unknown> = (message: BusMessage<T>) => void | Promise<void>;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

interface Pending {
  channel: string;
  json: string;
  epoch: number | undefined;
  bytes: number;
  /** Given at the first attempt and kept for every retry. */
  seq?: number;
  /** The message id: the row key of the first attempt. */
  id?: string;
  /** Resolved, rejected or aborted: later outcomes are ignored. */
  settled: boolean;
  trace: PublishTrace | undefined;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

const CHANNEL_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
// Azure: ≤ 100 entities and ≤ 4 MiB per entity-group transaction; keep headroom for the envelope.
const MAX_BATCH_ENTITIES = 100;
const MAX_BATCH_BYTES = 3.5 * 1024 * 1024;
// Azure returns at most 1,000 entities per query response.
const POLL_PAGE_SIZE = 1000;

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
  readonly #publishAttemptMs: number;
  readonly #deadLetterRetentionMs: number;
  readonly #clock: Clock;
  readonly #redelivery: Redelivery;
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
  /** Partition and message id of each row delivered, with the latest key time seen, pruned once out of reach. */
  readonly #seen = new Map<string, number>();
  /** Server time from which (minus the look-back) the next scan reads. */
  #readFrom: number | undefined;
  /** A scan in progress: kept across failed polls so a large backlog is read page by page. */
  #scan: { filter: string; startedAt: number; continuationToken: string | undefined } | undefined;
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
    redeliveries: 0,
    deadLettered: 0,
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
    // An acknowledged attempt commits within this of its row key's time, well inside the look-back.
    this.#publishAttemptMs = Math.min(this.#callTimeoutMs, this.#lookbackMs / 2);
    this.#deadLetterRetentionMs = positive(
      'deadLetterRetentionMs',
      options.deadLetterRetentionMs ?? 7 * 24 * 3600_000,
    );
    const redelivery = resolveRedeliveryOptions(options.redelivery);
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
    if (longestRedeliveryMs(redelivery) + this.#lookbackMs * 2 >= this.#retentionMs) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `retentionMs (${this.#retentionMs}) must exceed the longest redelivery (${longestRedeliveryMs(redelivery)} ms with these redelivery settings) plus twice lookbackMs (${this.#lookbackMs}), or a message held for redelivery could be deleted before a restarted consumer reads it again`,
      );
    }
    this.#consumerName = options.consumerName;
    this.#clock = options.clock ?? systemClock;
    this.#redelivery = new Redelivery(redelivery, {
      clock: this.#clock,
      handlersOf: (channel) => [...(this.#handlers.get(channel) ?? [])],
      runHandlers: (message, handlers) => this.#runHandlers(message, handlers),
      deadLetter: (message, error, attempts) => this.#deadLetter(message, error, attempts),
      onRedelivery: () => void this.stats.redeliveries++,
    });
    this.#epoch = options.epoch ?? (() => undefined);
    this.#isLeader = options.isLeader ?? (() => false);
    this.#serverTime = options.serverTime ?? new ServerTimeEstimate(this.#clock);
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
   * `abortSignal` concerns this message only: aborted while queued, it is not sent; aborted while
   * its batch is being written, the promise rejects at once with `ABORTED` and the message may
   * still be stored (and delivered). Other callers' messages in the batch are not affected.
   *
   * @throws GossiplessError `PAYLOAD_TOO_LARGE` when the JSON exceeds 64 KiB; `INVALID_INPUT` for a
   *   bad channel; `ABORTED` when `abortSignal` fired first.
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
    const { abortSignal } = options;
    if (abortSignal?.aborted) {
      return Promise.reject(
        new GossiplessError('ABORTED', `publish on channel "${channel}" was aborted; it was not sent`),
      );
    }
    const epoch = this.#epoch();
    return new Promise<string>((resolve, reject) => {
      const queue = this.#queues.get(channel) ?? [];
      this.#queues.set(channel, queue);
      const onAbort = (): void => {
        const index = queue.indexOf(pending);
        if (index >= 0) queue.splice(index, 1);
        pending.reject(
          new GossiplessError(
            'ABORTED',
            `publish on channel "${channel}" was aborted; ${index >= 0 ? 'it was not sent' : 'it was being written and may still be stored'}`,
          ),
        );
      };
      const settle = (): boolean => {
        if (pending.settled) return false;
        pending.settled = true;
        abortSignal?.removeEventListener('abort', onAbort);
        return true;
      };
      const pending: Pending = {
        channel,
        json,
        epoch,
        bytes: bytes + 512,
        settled: false,
        trace: this.#telemetry.publish(channel),
        resolve: (id) => settle() && resolve(id),
        reject: (error) => settle() && reject(error),
      };
      abortSignal?.addEventListener('abort', onAbort, { once: true });
      queue.push(pending);
      if (!this.#flushing.has(channel)) this.#flushing.set(channel, this.#flushQueue(channel));
    });
  }

  /**
   * Gives a queued message its row key for one write attempt, at write time, once the server's
   * clock is known. A retry gets a fresh key (a later time, same sequence) and keeps the id.
   */
  #toEntity(pending: Pending, retry: boolean): Entity {
    const { channel } = pending;
    if (pending.seq === undefined) {
      pending.seq = (this.#seq.get(channel) ?? 0) + 1;
      this.#seq.set(channel, pending.seq);
    }
    // Keys must grow per publisher and channel even if the estimate steps back; a retry's key must
    // differ from the attempt before it, whose row may yet be committed.
    const last = this.#lastKeyTime.get(channel) ?? 0;
    const time = Math.max(Math.floor(this.#serverTime.nowOrLocal()), retry ? last + 1 : last);
    this.#lastKeyTime.set(channel, time);
    const rowKey = messageRowKey(time, this.nodeId, pending.seq);
    pending.id ??= rowKey;
    return {
      partitionKey: this.#partition(channel),
      rowKey,
      channel,
      nodeId: this.nodeId,
      seq: pending.seq,
      messageId: pending.id,
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
    return channelPartition(this.cluster, channel);
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

  async #flushQueue(channel: string): Promise<void> {
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
      // No caller's signal cuts the write: it carries other callers' messages too.
      try {
        await this.#ensureTable();
        await this.#learnServerTime(undefined);
        const ids = await this.#writeBatch(batch);
        this.stats.published += batch.length;
        batch.forEach((p, i) => {
          p.trace?.end();
          p.resolve(ids[i]!);
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
      .getEntity(cursorPartition(this.cluster), '-', {
        abortSignal: deadlineSignal(this.#callTimeoutMs, abortSignal),
        onResponse: this.#observer(),
      })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
  }

  /**
   * Writes a batch; resolves with the message ids. The publish bound (docs/bus.md): each attempt
   * is keyed at its own start and given at most `lookbackMs / 2`, so an acknowledged row is
   * committed within half the look-back of its key's time and every consumer's re-read still
   * covers it. A timed-out attempt may yet be committed by the server, late and under its old key;
   * consumers that see both copies drop one by id, which they remember for longer than the
   * retries of one publish last (no attempt starts later than `0.75 × lookbackMs` after the first).
   */
  async #writeBatch(batch: Pending[]): Promise<string[]> {
    const startedAt = this.#clock.monotonicNow();
    // The storage SDK's own spans (when the user enables its tracing) nest under the publish span.
    const trace = batch[0]?.trace;
    const tracingOptions = trace ? { tracingContext: trace.context } : undefined;
    for (let attempt = 1; ; attempt++) {
      const entities = batch.map((p) => this.#toEntity(p, attempt > 1));
      const abortSignal = deadlineSignal(this.#publishAttemptMs);
      try {
        if (entities.length === 1) {
          await this.#table.createEntity(entities[0]!, {
            abortSignal,
            onResponse: this.#observer(),
            tracingOptions,
          });
        } else {
          const actions: TransactionAction[] = entities.map((e) => ['create', e]);
          await this.#table.submitTransaction(actions, {
            abortSignal,
            onResponse: this.#observer(),
            tracingOptions,
          });
        }
        return batch.map((p) => p.id!);
      } catch (error) {
        if (!isTransient(error)) throw error;
        const pauseMs = 200 * attempt;
        // Consumers remember an id for at least the look-back after its first copy: every copy a
        // retry stores must be keyed within that, with room for the two clock estimates.
        if (this.#clock.monotonicNow() - startedAt + pauseMs > this.#lookbackMs * 0.75) throw error;
        await sleep(pauseMs);
        // Again after the pause: a process stopped meanwhile (SIGSTOP, a frozen VM, a blocked event
        // loop) wakes up late, and an attempt keyed then could outlive its copies in consumers' memory.
        if (this.#clock.monotonicNow() - startedAt > this.#lookbackMs * 0.75) throw error;
      }
    }
  }

  async #pollLoop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      if (this.#handlers.size > 0 || this.#isLeader()) {
        try {
          await this.#redelivery.redeliverDue(stop);
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
          cursorPartition(this.cluster),
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
    if (this.#scan === undefined) {
      const lower = rowKeyLowerBound(this.#readFrom - this.#lookbackMs);
      const channels = [...this.#handlers.keys()];
      const partitions = channels.map((c) => partitionEquals(this.#partition(c))).join(' or ');
      this.#scan = {
        filter: `(${partitions}) and RowKey ge ${odataString(lower)}`,
        startedAt: this.#serverTime.nowOrLocal(),
        continuationToken: undefined,
      };
    }
    const scan = this.#scan;
    // Page by page, each with its own deadline, delivering as it goes: a failed page is read again
    // from its continuation token at the next poll, so a backlog too large to read within one
    // deadline is still worked through instead of being retried whole until retention deletes it.
    for (;;) {
      const page = await this.#readPage(scan.filter, scan.continuationToken, stop);
      // Azure returns a page in partition then row key order; across channels, deliver by time.
      page.rows.sort((a, b) => compareKeys(String(a['rowKey']), String(b['rowKey'])));
      for (const row of page.rows) {
        if (stop.aborted) return;
        await this.#deliver(row);
      }
      if (page.continuationToken === undefined) break;
      scan.continuationToken = page.continuationToken;
    }
    this.#scan = undefined;
    this.#readFrom = scan.startedAt;
    // Nothing keyed before readFrom − lookback is read again by this process.
    this.#pruneSeen(this.#readFrom - this.#lookbackMs * 2);
    await this.#writeCursor(false);
  }

  async #readPage(
    filter: string,
    continuationToken: string | undefined,
    stop: AbortSignal,
  ): Promise<{ rows: Array<Record<string, unknown>>; continuationToken: string | undefined }> {
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        abortSignal: deadlineSignal(this.#callTimeoutMs, stop),
        onResponse: this.#observer(),
      })
      .byPage({ maxPageSize: POLL_PAGE_SIZE, ...(continuationToken ? { continuationToken } : {}) });
    const first = await pages.next();
    if (first.done) return { rows: [], continuationToken: undefined };
    return { rows: [...first.value], continuationToken: first.value.continuationToken || undefined };
  }

  async #deliver(row: Record<string, unknown>): Promise<void> {
    const rowKey = String(row['rowKey']);
    const parsed = parseBusRow(row);
    // A retried publish is stored under a second row key with the same message id. Ids are unique
    // per channel only (the sequence is per channel): two channels can hold the same id.
    const id = `${String(row['partitionKey'])}\u0000${'message' in parsed ? parsed.message.id : rowKey}`;
    const keyTime = timeOfRowKey(rowKey) ?? 0;
    const seenAt = this.#seen.get(id);
    if (seenAt !== undefined) {
      this.stats.duplicates++;
      if (keyTime > seenAt) this.#seen.set(id, keyTime);
      return;
    }
    this.#seen.set(id, keyTime);
    if ('reason' in parsed) {
      this.stats.malformed++;
      const channel = typeof row['channel'] === 'string' ? row['channel'] : undefined;
      this.#logger.warn(`skipped malformed bus row ${rowKey} on channel ${channel ?? '?'}: ${parsed.reason}`);
      this.emit('malformed', { id: rowKey, channel, reason: parsed.reason });
      return;
    }
    if (!this.#handlers.has(parsed.message.channel)) return;
    this.stats.delivered++;
    const delivered = this.#telemetry.deliver(parsed.message, row[TRACE_CONTEXT_PROPERTY], this.serverNow());
    const errorsBefore = this.stats.handlerErrors;
    await this.#redelivery.deliver(parsed.message);
    delivered(this.stats.handlerErrors > errorsBefore);
  }

  /** Runs handlers one after another; a throw is counted and logged, and the others still run. */
  async #runHandlers(
    message: BusMessage,
    handlers: readonly RedeliveryHandler[],
  ): Promise<{ failed: RedeliveryHandler[]; error: unknown }> {
    const failed: RedeliveryHandler[] = [];
    let lastError: unknown;
    for (const handler of handlers) {
      try {
        await handler(message);
      } catch (error) {
        // Any handler failure is the handler's to report; the bus's part is to deliver again.
        failed.push(handler);
        lastError = error;
        this.stats.handlerErrors++;
        this.#logger.error(
          `a handler on channel ${message.channel} threw on message ${message.id}: ${redactUnknown(error)}`,
        );
      }
    }
    return { failed, error: lastError };
  }

  /** Parks a message on its channel's dead-letter partition; false (reported) if storage failed. */
  async #deadLetter(message: BusMessage, error: unknown, attempts: number): Promise<boolean> {
    const entity = deadLetterEntity(this.cluster, message, JSON.stringify(message.payload), {
      error,
      attempts,
      consumer: this.#consumerName ?? this.nodeId,
      deadAt: this.#serverTime.nowOrLocal(),
    });
    try {
      await this.#ensureTable();
      // Replace: a consumer that parks the same message again (after a restart) keeps one row.
      await this.#table.upsertEntity(entity, 'Replace', {
        abortSignal: deadlineSignal(this.#callTimeoutMs, this.#stop.signal),
        onResponse: this.#observer(),
      });
    } catch (failure) {
      // Whatever the cause, the message stays held and parking is retried; the failure is reported.
      if (isNotFound(failure)) this.#tableReady = undefined;
      this.emit('error', { error: this.#wrap('dead-letter', failure), during: 'dead-letter' });
      return false;
    }
    this.stats.deadLettered++;
    const reason = String(entity['error']);
    this.#logger.warn(
      `parked message ${message.id} of channel ${message.channel} on its dead-letter partition after ${attempts} deliveries: ${reason}`,
    );
    this.emit('dead-lettered', {
      id: message.id,
      channel: message.channel,
      from: message.from,
      attempts,
      error: reason,
    });
    return true;
  }

  #pruneSeen(olderThan: number): void {
    for (const [id, time] of this.#seen) if (time < olderThan) this.#seen.delete(id);
  }

  /** Messages held for redelivery right now (being retried, or waiting behind one that is). */
  get heldForRedelivery(): number {
    return this.#redelivery.held;
  }

  async #writeCursor(force: boolean): Promise<void> {
    if (!this.#consumerName || this.#readFrom === undefined) return;
    const now = this.#serverTime.nowOrLocal();
    if (!force && now - this.#lastCursorWrite < 5000) return;
    // Never past a message held for redelivery: a restarted consumer must read it again.
    const readFrom = Math.min(this.#readFrom, this.#redelivery.oldestHeldTime() ?? Infinity);
    try {
      await this.#table.upsertEntity(
        { partitionKey: cursorPartition(this.cluster), rowKey: this.#consumerName, readFrom },
        'Replace',
        { abortSignal: deadlineSignal(this.#callTimeoutMs), onResponse: this.#observer() },
      );
      // Only a stored position counts: a failed write is tried again after the next poll, not 5 s
      // later, so a consumer that dies during a brownout re-reads ~15 s, not that plus the brownout.
      this.#lastCursorWrite = now;
    } catch (error) {
      this.emit('error', { error: this.#wrap('cursor', error), during: 'cursor' });
    }
  }

  async #maybeRunRetention(stop: AbortSignal): Promise<void> {
    const now = this.#serverTime.nowOrLocal();
    if (now - this.#lastRetention < Math.min(60_000, this.#retentionMs / 4)) return;
    this.#lastRetention = now;
    const messages =
      `${channelPartitionsFilter(this.cluster)}` +
      ` and RowKey lt ${odataString(rowKeyLowerBound(now - this.#retentionMs))}`;
    await this.#deleteRows(messages, stop);
    // Dead-letter row keys start with the message id, so they too sort by publish time.
    const deadLetters = `${deadLetterPartitionsFilter(this.cluster)} and RowKey lt ${odataString(
      rowKeyLowerBound(now - this.#deadLetterRetentionMs),
    )}`;
    await this.#deleteRows(deadLetters, stop);
  }

  async #deleteRows(filter: string, stop: AbortSignal): Promise<void> {
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

  /** What the metrics read at collection time (dead letters from `stats.deadLettered`). */
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

  #wrap(during: string, error: unknown): GossiplessError {
    return storageFailure(`bus ${during} on table ${this.tableName}`, error);
  }
}

/** Row keys in the table's order (ordinal), not the locale's. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
