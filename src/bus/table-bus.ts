import type { TableClient, TransactionAction } from '@azure/data-tables';
import { ServerTimeEstimate, sleep, systemClock, type Clock } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import { TypedEmitter } from '../events/index.js';
import { redactingLogger, type Logger } from '../log/index.js';
import { resolveNodeIdentity } from '../node-id/index.js';
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
import { PollSchedule } from './poll-schedule.js';
import { Redelivery, type RedeliveryHandler } from './redelivery.js';
import {
  resolveTableBusTimings,
  type ResolvedTableBusTimings,
  type TableBusOptions,
} from './table-bus-options.js';
import {
  busTelemetry,
  TRACE_CONTEXT_PROPERTY,
  type BusTelemetry,
  type BusTelemetrySource,
  type PublishTrace,
} from '../telemetry/index.js';

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
  /** Messages not given to a `since: 'subscribed'` handler because they were published before it subscribed. */
  beforeSubscription: number;
  /** Poll queries made (one storage transaction per page). */
  polls: number;
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

/** Options of {@link TableBus.subscribe}. */
export interface SubscribeOptions {
  /**
   * `'subscribed'`: deliver only messages published after this call, as a socket hears only what
   * is sent while it is bound (the node-discover and democracy shims' channels). Without it a
   * subscriber also gets what was published up to `lookbackMs` before its first poll (or, for a
   * durable consumer, since its stored read position). The publish time is judged from both
   * nodes' bounds on the server's clock (see docs/bus.md, *Subscribing from now on*), so a message
   * published after the call is never dropped; one published within the clocks' uncertainty before
   * it (tens of ms once the estimates are narrow, up to about a second just after start) may
   * still be delivered. @default undefined (everything in reach)
   */
  since?: 'subscribed';
}

interface Subscription {
  /** Monotonic time of the subscribe call, for `since: 'subscribed'`. */
  since: number | undefined;
}

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
  /** The server's clock read less than this when the first attempt was keyed (upper bound of the estimate). */
  publishedBefore?: number;
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
// A row without `publishedBefore` (older versions): its key time plus the widest error of an
// estimate made from one response (±500 ms plus a round trip), with room.
const UNSTAMPED_ALLOWANCE_MS = 1500;
// Azure's front ends (blob, table) keep their own clocks; ServerTimeEstimate merges gaps up to this.
const FRONT_END_SKEW_MS = 100;
const MIN_SLEEP_MS = 5;
// A moving durable cursor is stored at most this often (server time) while polling, and on stop.
const CURSOR_WRITE_EVERY_MS = 5000;

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
  /** The timings in effect, every default filled in. */
  readonly timings: Readonly<ResolvedTableBusTimings>;
  readonly #storage: StorageConnection;
  readonly #table: TableClient;
  readonly #schedule: PollSchedule;
  readonly #clock: Clock;
  readonly #redelivery: Redelivery;
  readonly #consumerName: string | undefined;
  readonly #epoch: () => number | undefined;
  readonly #isLeader: () => boolean;
  readonly #serverTime: ServerTimeEstimate;
  readonly #logger: Logger;
  /** Per channel, each handler with its subscription (for `since`). */
  readonly #handlers = new Map<string, Map<BusHandler, Subscription>>();
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
  /** Monotonic time the next poll is due; brought forward by activity. */
  #nextPollAt = -Infinity;
  #lastRetention = -Infinity;
  /** Pause between retention passes: doubles after a pass that deleted nothing. */
  #retentionEveryMs: number;
  /** The cursor value last stored, the delivery progress it reflects, and when (server time). */
  #storedCursor: { readFrom: number; progress: number; at: number } | undefined;
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
    beforeSubscription: 0,
    polls: 0,
  };

  constructor(options: TableBusOptions) {
    super((error, event) => this.#logger.error(`a '${event}' listener threw: ${redactUnknown(error)}`));
    const identity = resolveNodeIdentity(options);
    this.nodeId = identity.nodeId;
    this.cluster = identity.cluster;
    this.tableName = busTableName(options.tablePrefix);
    this.#storage = options.storage;
    this.#table = options.storage.tableClient(this.tableName);
    const timings = resolveTableBusTimings(options);
    this.timings = Object.freeze(timings);
    this.#retentionEveryMs = retentionBaseMs(timings.retentionMs);
    const redelivery = timings.redelivery;
    this.#consumerName = options.consumerName;
    this.#clock = options.clock ?? systemClock;
    this.#schedule = new PollSchedule(timings, () => this.#clock.monotonicNow());
    this.#redelivery = new Redelivery(redelivery, {
      clock: this.#clock,
      handlersOf: (message) => this.#handlersFor(message),
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
      // A publish often draws a reply (request/response over channels): listen closely again.
      this.nudge();
    });
  }

  /**
   * Tells the bus that messages are likely to arrive soon (a request was sent elsewhere, a user
   * acted): polling returns to `pollIntervalMs` at once, so the next poll is at most that far away,
   * and stays there for `quietAfterMs`. A publish and a new subscription on this bus nudge it too.
   * Costs nothing by itself; each poll it brings forward is one storage transaction.
   */
  nudge(): void {
    this.#schedule.activity();
    this.#nextPollAt = Math.min(this.#nextPollAt, this.#clock.monotonicNow() + this.#schedule.nextPauseMs());
    this.#wake.abort();
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
    if (pending.id === undefined) {
      pending.id = rowKey;
      // Lets a `since: 'subscribed'` subscriber tell "before it subscribed" for sure (see publishedSince).
      const upper = this.#serverTime.bounds()?.upper;
      if (upper !== undefined && Number.isFinite(upper)) pending.publishedBefore = Math.ceil(upper);
    }
    return {
      partitionKey: this.#partition(channel),
      rowKey,
      channel,
      nodeId: this.nodeId,
      seq: pending.seq,
      messageId: pending.id,
      payload: pending.json,
      ...(pending.publishedBefore !== undefined ? { publishedBefore: pending.publishedBefore } : {}),
      ...(pending.epoch !== undefined ? { epoch: pending.epoch } : {}),
      ...(pending.trace?.carrier !== undefined ? { [TRACE_CONTEXT_PROPERTY]: pending.trace.carrier } : {}),
    };
  }

  /**
   * Subscribes to a channel; returns a function that unsubscribes. A handler subscribed twice to
   * one channel runs once per message, with the options of its first subscription.
   */
  subscribe<T = unknown>(
    channel: string,
    handler: BusHandler<T>,
    options: SubscribeOptions = {},
  ): () => void {
    assertChannel(channel);
    if (options.since !== undefined && options.since !== 'subscribed') {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `subscribe option since must be 'subscribed' or absent, got ${String(options.since)}`,
      );
    }
    const subscriptions = this.#handlers.get(channel) ?? new Map<BusHandler, Subscription>();
    this.#handlers.set(channel, subscriptions);
    if (!subscriptions.has(handler as BusHandler)) {
      subscriptions.set(handler as BusHandler, {
        since: options.since === 'subscribed' ? this.#serverTime.monotonicNow() : undefined,
      });
    }
    this.nudge();
    return () => {
      subscriptions.delete(handler as BusHandler);
      if (subscriptions.size === 0 && this.#handlers.get(channel) === subscriptions)
        this.#handlers.delete(channel);
    };
  }

  /**
   * Whether a message may have been published at or after `since`, a time on this bus's monotonic
   * clock (`cluster.serverTime.monotonicNow()`): false only when it surely was published before.
   * What `since: 'subscribed'` applies; the democracy shim uses it for its own channel
   * subscriptions. The publisher stamps the upper bound of its server-clock estimate on the row
   * (`publishedBefore`); this node's lower bound at `since` must not be later than it.
   */
  publishedSince(message: BusMessage, since: number): boolean {
    const bounds = this.#serverTime.bounds();
    // Nothing known of the server's clock: nothing can be ruled out.
    if (bounds === undefined) return true;
    const subscribedAtLeast = bounds.lower - (this.#serverTime.monotonicNow() - since);
    const firstKeyed = timeOfRowKey(message.id) ?? message.publishedAt;
    // Rows of versions that did not stamp the bound: one response places a clock within ~1 s.
    const publishedBefore = message.publishedBefore ?? firstKeyed + UNSTAMPED_ALLOWANCE_MS;
    return publishedBefore + FRONT_END_SKEW_MS > subscribedAtLeast;
  }

  /** The handlers a message is for: its channel's, less those subscribed `since` after it was published. */
  #handlersFor(message: BusMessage): RedeliveryHandler[] {
    const handlers: RedeliveryHandler[] = [];
    for (const [handler, subscription] of this.#handlers.get(message.channel) ?? []) {
      if (this.#isFor(message, subscription)) handlers.push(handler as RedeliveryHandler);
    }
    return handlers;
  }

  /** Whether any handler of its channel takes the message: stops at the first (no list is built). */
  #hasHandlerFor(message: BusMessage): boolean {
    for (const subscription of this.#handlers.get(message.channel)?.values() ?? []) {
      if (this.#isFor(message, subscription)) return true;
    }
    return false;
  }

  #isFor(message: BusMessage, subscription: Subscription): boolean {
    return subscription.since === undefined || this.publishedSince(message, subscription.since);
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
      .createTableIfNotExists(this.tableName, { abortSignal: deadlineSignal(this.timings.callTimeoutMs) })
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
        abortSignal: deadlineSignal(this.timings.callTimeoutMs, abortSignal),
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
      const abortSignal = deadlineSignal(this.timings.publishAttemptMs);
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
        if (this.#clock.monotonicNow() - startedAt + pauseMs > this.timings.lookbackMs * 0.75) throw error;
        await sleep(pauseMs);
        // Again after the pause: a process stopped meanwhile (SIGSTOP, a frozen VM, a blocked event
        // loop) wakes up late, and an attempt keyed then could outlive its copies in consumers' memory.
        if (this.#clock.monotonicNow() - startedAt > this.timings.lookbackMs * 0.75) throw error;
      }
    }
  }

  async #pollLoop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const polling = this.#handlers.size > 0;
      const leading = this.#isLeader();
      if (polling || leading) {
        const arrivedBefore = this.#arrived();
        try {
          await this.#redelivery.redeliverDue(stop);
          if (this.#clock.monotonicNow() >= this.#nextPollAt) {
            try {
              await this.#ensureTable();
              if (polling) await this.#poll(stop);
              if (leading) await this.#maybeRunRetention(stop);
            } finally {
              if (polling) this.#schedule.afterPoll(this.#arrived() > arrivedBefore);
              this.#nextPollAt =
                this.#clock.monotonicNow() + (polling ? this.#nextPollDelay() : this.#schedule.nominalMs);
            }
          }
        } catch (error) {
          if (stop.aborted) break;
          // The table can vanish (deleted by hand, an emulator restarted in memory): recreate it.
          if (isNotFound(error)) this.#tableReady = undefined;
          this.stats.pollErrors++;
          this.emit('error', { error: this.#wrap('poll', error), during: 'poll' });
        }
      }
      // A nudge during the poll already moved #nextPollAt; the new signal catches the next one.
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      const wakeAt =
        polling || leading
          ? Math.min(this.#nextPollAt, this.#redelivery.nextDueAt() ?? Infinity)
          : // Nothing to do until a subscription (it wakes the loop) or leadership (checked each turn).
            this.#clock.monotonicNow() + this.#schedule.nominalMs;
      // At least a few ms: a redelivery due now was just tried, and is due again only later.
      await sleep(Math.max(MIN_SLEEP_MS, wakeAt - this.#clock.monotonicNow()), stop, this.#wake.signal);
    }
  }

  /** Messages that arrived (delivered or malformed): what keeps polling fast. */
  #arrived(): number {
    return this.stats.delivered + this.stats.malformed;
  }

  /**
   * The pause before the next poll (see {@link PollSchedule}), brought forward by up to a second
   * (never for pauses under a second) while the server-time estimate is wide, so the next poll
   * reaches the server as its clock turns a second: that response narrows the estimate most.
   * Never later than the pause: probing costs a few extra polls instead.
   */
  #nextPollDelay(): number {
    const nominal = this.#schedule.nominalMs;
    const probe = nominal >= 1000 ? this.#serverTime.msUntilProbe() : undefined;
    // The probe's moment is itself spread at random over the uncertainty: no other jitter needed.
    if (probe === undefined) return this.#schedule.nextPauseMs();
    return nominal - ((((nominal - probe) % 1000) + 1000) % 1000);
  }

  async #initialReadFrom(stop: AbortSignal): Promise<number> {
    if (this.#consumerName) {
      try {
        const row = await this.#table.getEntity<{ readFrom?: number }>(
          cursorPartition(this.cluster),
          this.#consumerName,
          {
            abortSignal: deadlineSignal(this.timings.callTimeoutMs, stop),
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
      const lower = rowKeyLowerBound(this.#readFrom - this.timings.lookbackMs);
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
    this.#pruneSeen(this.#readFrom - this.timings.lookbackMs * 2);
    await this.#writeCursor(false);
  }

  async #readPage(
    filter: string,
    continuationToken: string | undefined,
    stop: AbortSignal,
  ): Promise<{ rows: Array<Record<string, unknown>>; continuationToken: string | undefined }> {
    this.stats.polls++;
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter },
        abortSignal: deadlineSignal(this.timings.callTimeoutMs, stop),
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
    // Redelivery lists the handlers itself when it runs them (later, if the message waits in a queue).
    if (!this.#hasHandlerFor(parsed.message)) {
      // Every handler subscribed `since` after this was published; remembered above, so counted once.
      this.stats.beforeSubscription++;
      return;
    }
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
        abortSignal: deadlineSignal(this.timings.callTimeoutMs, this.#stop.signal),
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

  /**
   * Stores a durable consumer's read position: at most every `CURSOR_WRITE_EVERY_MS` while
   * polling, and on stop (force), and only when it moved. While nothing is delivered a restart from
   * the stored position reads nothing new (every row after it would have been delivered), so an
   * idle consumer writes nothing.
   */
  async #writeCursor(force: boolean): Promise<void> {
    if (!this.#consumerName || this.#readFrom === undefined) return;
    const now = this.#serverTime.nowOrLocal();
    const stored = this.#storedCursor;
    if (stored && !force && now - stored.at < CURSOR_WRITE_EVERY_MS) return;
    // Never past a message held for redelivery: a restarted consumer must read it again.
    const readFrom = Math.min(this.#readFrom, this.#redelivery.oldestHeldTime() ?? Infinity);
    const progress =
      this.#arrived() + this.stats.redeliveries + this.stats.deadLettered + this.#redelivery.held;
    if (stored && (stored.readFrom === readFrom || (!force && stored.progress === progress))) return;
    try {
      await this.#table.upsertEntity(
        { partitionKey: cursorPartition(this.cluster), rowKey: this.#consumerName, readFrom },
        'Replace',
        { abortSignal: deadlineSignal(this.timings.callTimeoutMs), onResponse: this.#observer() },
      );
      // Only a stored position counts: a failed write is tried again after the next poll, not 5 s
      // later, so a consumer that dies during a brownout re-reads ~15 s, not that plus the brownout.
      this.#storedCursor = { readFrom, progress, at: now };
    } catch (error) {
      this.emit('error', { error: this.#wrap('cursor', error), during: 'cursor' });
    }
  }

  /**
   * Deletes messages past `retentionMs` and dead letters past `deadLetterRetentionMs`, in one query
   * for both. Every `min(60 s, retentionMs / 4)` while passes find rows; after a pass that found
   * none the pause doubles, up to `retentionMs / 2`, so an idle leader makes a dozen an hour.
   */
  async #maybeRunRetention(stop: AbortSignal): Promise<void> {
    const now = this.#serverTime.nowOrLocal();
    if (now - this.#lastRetention < this.#retentionEveryMs) return;
    this.#lastRetention = now;
    const messages =
      `${channelPartitionsFilter(this.cluster)}` +
      ` and RowKey lt ${odataString(rowKeyLowerBound(now - this.timings.retentionMs))}`;
    // Dead-letter row keys start with the message id, so they too sort by publish time.
    const deadLetters = `${deadLetterPartitionsFilter(this.cluster)} and RowKey lt ${odataString(
      rowKeyLowerBound(now - this.timings.deadLetterRetentionMs),
    )}`;
    const found = await this.#deleteRows(`(${messages}) or (${deadLetters})`, stop);
    const base = retentionBaseMs(this.timings.retentionMs);
    this.#retentionEveryMs =
      found > 0 ? base : Math.min(this.timings.retentionMs / 2, this.#retentionEveryMs * 2);
  }

  /** Deletes the rows the filter finds, in batches per partition; returns how many it found. */
  async #deleteRows(filter: string, stop: AbortSignal): Promise<number> {
    const byPartition = new Map<string, string[]>();
    let found = 0;
    for await (const row of this.#table.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['PartitionKey', 'RowKey'] },
      abortSignal: deadlineSignal(this.timings.callTimeoutMs * 4, stop),
      onResponse: this.#observer(),
    })) {
      const list = byPartition.get(row.partitionKey!) ?? [];
      list.push(row.rowKey!);
      byPartition.set(row.partitionKey!, list);
      found++;
    }
    for (const [partitionKey, rowKeys] of byPartition) {
      for (let i = 0; i < rowKeys.length; i += MAX_BATCH_ENTITIES) {
        if (!this.#isLeader() || stop.aborted) return found;
        const actions: TransactionAction[] = rowKeys
          .slice(i, i + MAX_BATCH_ENTITIES)
          .map((rowKey) => ['delete', { partitionKey, rowKey }]);
        await this.#table.submitTransaction(actions, {
          abortSignal: deadlineSignal(this.timings.callTimeoutMs, stop),
          onResponse: this.#observer(),
        });
        this.stats.retentionDeleted += actions.length;
      }
    }
    return found;
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

/** The pause between retention passes while they find rows to delete. */
function retentionBaseMs(retentionMs: number): number {
  return Math.min(60_000, retentionMs / 4);
}

function assertChannel(channel: string): void {
  if (typeof channel !== 'string' || !CHANNEL_PATTERN.test(channel)) {
    throw new GossiplessError(
      'INVALID_INPUT',
      `channel "${String(channel)}" must be 1–64 letters, digits, '.', '_' or '-'`,
    );
  }
}
