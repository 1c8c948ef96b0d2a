import type { Clock } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import type { BusMessage } from './bus-message.js';

/** How a message whose handler throws is delivered again, then given up on. */
export interface RedeliveryOptions {
  /**
   * Deliveries of one message, the first included, before it is parked on the dead-letter
   * partition. `1` dead-letters on the first failure.
   * @default 5
   */
  maxAttempts?: number;
  /** Pause before the second delivery; each further pause doubles, up to `maxBackoffMs`. @default 1000 */
  initialBackoffMs?: number;
  /** Longest pause between two deliveries. @default 30000 */
  maxBackoffMs?: number;
  /** Source of jitter in [0, 1). Tests pin it. @default Math.random */
  random?: () => number;
}

/** {@link RedeliveryOptions} with every default filled in. */
export type ResolvedRedeliveryOptions = Required<RedeliveryOptions>;

/** Fills the defaults of {@link RedeliveryOptions} and validates them (the one place they live). */
export function resolveRedeliveryOptions(options: RedeliveryOptions = {}): ResolvedRedeliveryOptions {
  const resolved = {
    maxAttempts: options.maxAttempts ?? 5,
    initialBackoffMs: options.initialBackoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 30_000,
    random: options.random ?? Math.random,
  };
  if (!Number.isInteger(resolved.maxAttempts) || resolved.maxAttempts < 1 || resolved.maxAttempts > 100) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `redelivery.maxAttempts must be an integer 1–100, got ${String(options.maxAttempts)}`,
    );
  }
  for (const name of ['initialBackoffMs', 'maxBackoffMs'] as const) {
    if (!Number.isFinite(resolved[name]) || resolved[name] <= 0) {
      throw new GossiplessError(
        'INVALID_OPTIONS',
        `redelivery.${name} must be a positive number of ms, got ${String(options[name])}`,
      );
    }
  }
  if (resolved.maxBackoffMs < resolved.initialBackoffMs) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `redelivery.maxBackoffMs (${resolved.maxBackoffMs}) must be at least initialBackoffMs (${resolved.initialBackoffMs})`,
    );
  }
  return resolved;
}

/**
 * The pause after the `failures`-th failed delivery: exponential, capped, with "equal jitter"
 * (uniform in [d/2, d]) so consumers that failed together do not retry in step, yet never retry
 * sooner than half the nominal pause.
 */
export function redeliveryBackoffMs(failures: number, options: ResolvedRedeliveryOptions): number {
  const nominal = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** Math.max(0, failures - 1));
  return nominal / 2 + (nominal / 2) * options.random();
}

/** The longest a message can be held by redelivery (every pause at its nominal maximum). */
export function longestRedeliveryMs(options: ResolvedRedeliveryOptions): number {
  let total = 0;
  for (let failures = 1; failures < options.maxAttempts; failures++) {
    total += Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** (failures - 1));
  }
  return total;
}

/** A handler as the redelivery sees it: opaque, compared by identity. */
export type RedeliveryHandler = (message: BusMessage) => void | Promise<void>;

/** What {@link Redelivery} needs from the bus. */
export interface RedeliveryHost {
  clock: Clock;
  /** The handlers currently subscribed to the message's channel that it is for. */
  handlersOf(message: BusMessage): readonly RedeliveryHandler[];
  /** Runs handlers one after another; returns those that threw, and the last error. */
  runHandlers(
    message: BusMessage,
    handlers: readonly RedeliveryHandler[],
  ): Promise<{ failed: RedeliveryHandler[]; error: unknown }>;
  /** Stores the message on the dead-letter partition; false if it could not (the host reports why). */
  deadLetter(message: BusMessage, error: unknown, attempts: number): Promise<boolean>;
  /** Called once per delivery attempt after the first. */
  onRedelivery(message: BusMessage, attempt: number): void;
}

interface Held {
  message: BusMessage;
  /** Deliveries made so far (0: waiting behind an earlier message of the same publisher). */
  attempts: number;
  /** Handlers that have not yet succeeded; undefined until the first attempt. */
  pending: Set<RedeliveryHandler> | undefined;
  dueAt: number;
  lastError: unknown;
  /** All attempts are spent; only the dead-letter write is left (it failed once). */
  parking: boolean;
}

/**
 * Redelivery with backoff and ordering per publisher. A message whose handler throws is held with
 * every later message of the same publisher on the same channel behind it (so their order is
 * kept), and delivered again after a jittered, growing pause, to the handlers that failed only.
 * After `maxAttempts` deliveries it is parked on the dead-letter partition and the queue moves on.
 * Holds messages in memory; the bus keeps its durable cursor at or before the oldest one held, so
 * a restart reads them again.
 */
export class Redelivery {
  readonly #options: ResolvedRedeliveryOptions;
  readonly #host: RedeliveryHost;
  /** One queue per channel and publisher; its head is the message being retried. */
  readonly #queues = new Map<string, Held[]>();

  constructor(options: ResolvedRedeliveryOptions, host: RedeliveryHost) {
    this.#options = options;
    this.#host = host;
  }

  /** Messages held right now (being retried, or waiting behind one that is). */
  get held(): number {
    let n = 0;
    for (const queue of this.#queues.values()) n += queue.length;
    return n;
  }

  /** The earliest row-key time of a held message: the durable cursor must not pass it. */
  oldestHeldTime(): number | undefined {
    let oldest: number | undefined;
    for (const queue of this.#queues.values()) {
      for (const held of queue) {
        if (oldest === undefined || held.message.publishedAt < oldest) oldest = held.message.publishedAt;
      }
    }
    return oldest;
  }

  /** Monotonic time the earliest held message is due again, or undefined when none is held. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const queue of this.#queues.values()) {
      const head = queue[0];
      if (head && (next === undefined || head.dueAt < next)) next = head.dueAt;
    }
    return next;
  }

  /** Delivers a message read for the first time, or queues it behind its publisher's held one. */
  async deliver(message: BusMessage): Promise<void> {
    const key = queueKey(message);
    const queue = this.#queues.get(key);
    const held: Held = {
      message,
      attempts: 0,
      pending: undefined,
      dueAt: 0,
      lastError: undefined,
      parking: false,
    };
    if (queue) {
      queue.push(held);
      return;
    }
    this.#queues.set(key, [held]);
    await this.#drain(key, undefined);
  }

  /** Retries every held message whose pause is over. Call from the poll loop. */
  async redeliverDue(stop: AbortSignal): Promise<void> {
    const now = this.#host.clock.monotonicNow();
    for (const key of [...this.#queues.keys()]) {
      if (stop.aborted) return;
      const head = this.#queues.get(key)?.[0];
      if (head && head.dueAt <= now) await this.#drain(key, stop);
    }
  }

  /** Works a queue from its head until a delivery fails (it is then held) or the queue is empty. */
  async #drain(key: string, stop: AbortSignal | undefined): Promise<void> {
    const queue = this.#queues.get(key)!;
    while (queue.length > 0 && !stop?.aborted) {
      const head = queue[0]!;
      if (!head.parking) {
        const current = this.#host.handlersOf(head.message);
        const targets = head.pending ? current.filter((h) => head.pending!.has(h)) : current;
        if (targets.length === 0) {
          // Unsubscribed meanwhile: nobody is left to deliver to.
          queue.shift();
          continue;
        }
        head.attempts++;
        if (head.attempts > 1) this.#host.onRedelivery(head.message, head.attempts);
        const { failed, error } = await this.#host.runHandlers(head.message, targets);
        if (failed.length === 0) {
          queue.shift();
          continue;
        }
        head.pending = new Set(failed);
        head.lastError = error;
        if (head.attempts < this.#options.maxAttempts) {
          head.dueAt = this.#host.clock.monotonicNow() + redeliveryBackoffMs(head.attempts, this.#options);
          return;
        }
        head.parking = true;
      }
      if (!(await this.#host.deadLetter(head.message, head.lastError, head.attempts))) {
        // The message stays at the head (the cursor stays behind it); parking is tried again
        // after the longest pause.
        head.dueAt = this.#host.clock.monotonicNow() + this.#options.maxBackoffMs;
        return;
      }
      queue.shift();
    }
    if (queue.length === 0) this.#queues.delete(key);
  }
}

function queueKey(message: BusMessage): string {
  return `${message.channel}\u0000${message.from}`;
}
