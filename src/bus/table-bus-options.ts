import type { Clock, ServerTimeEstimate } from '../clock/index.js';
import { GossiplessError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { isValidNodeId } from '../node-id/index.js';
import type { StorageConnection } from '../storage/index.js';
import {
  longestRedeliveryMs,
  resolveRedeliveryOptions,
  type RedeliveryOptions,
  type ResolvedRedeliveryOptions,
} from './redelivery.js';

/** Options of `TableBus`. */
export interface TableBusOptions {
  storage: StorageConnection;
  /** Cluster name (lowercase letters, digits, `-`). */
  cluster: string;
  /** @default host-pid-random */
  nodeId?: string;
  /** The table is `<tablePrefix>bus`. @default 'gossipless' */
  tablePrefix?: string;
  /**
   * How often subscribers poll while messages flow: after a poll that delivered something, after
   * a publish from this bus, a new subscription or a `nudge()`, for `quietAfterMs`. Then the
   * interval doubles up to `idlePollIntervalMs`. Delivery latency at steady traffic is about half
   * of it plus a round trip. @default 500
   */
  pollIntervalMs?: number;
  /**
   * The longest pause between two polls, reached after a quiet spell (no message delivered, no
   * local publish or nudge): how long the first message after a quiet spell may wait. Set it to
   * `pollIntervalMs` to poll at a fixed rate. 30 s keeps an idle leader (lease renewals, member
   * digest, a singleton tick a minute) under 1,500 storage transactions an hour (issue #11); Azure
   * Functions' queue trigger backs off to 1 min by default. @default 30000
   */
  idlePollIntervalMs?: number;
  /** How long polls stay at `pollIntervalMs` after the last message, publish or nudge. @default 3000 */
  quietAfterMs?: number;
  /**
   * Each pause is shortened by a random fraction up to this (uniform in `[1 − pollJitter, 1]` times
   * its nominal value), so nodes that went quiet together do not poll in step. @default 0.05
   */
  pollJitter?: number;
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
  /** Source of the poll jitter, in [0, 1). Tests pin it. @default Math.random */
  random?: () => number;
  /** @default silent */
  logger?: Logger;
}

/** The timings of {@link TableBusOptions} with every default filled in and validated. */
export interface ResolvedTableBusTimings {
  pollIntervalMs: number;
  idlePollIntervalMs: number;
  quietAfterMs: number;
  pollJitter: number;
  lookbackMs: number;
  retentionMs: number;
  callTimeoutMs: number;
  /** A publish attempt's deadline: `min(callTimeoutMs, lookbackMs / 2)` (the publish bound). */
  publishAttemptMs: number;
  deadLetterRetentionMs: number;
  redelivery: ResolvedRedeliveryOptions;
  consumerName: string | undefined;
  random: () => number;
}

/**
 * Fills the defaults of the bus's timings and validates them (the one place they live). Also what
 * the cost model reads: `resolveTableBusTimings({}).idlePollIntervalMs` is an idle node's poll pause.
 *
 * @throws GossiplessError `INVALID_OPTIONS` naming the option and the rule it breaks.
 */
export function resolveTableBusTimings(
  options: Omit<Partial<TableBusOptions>, 'storage' | 'cluster'> = {},
): ResolvedTableBusTimings {
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 500);
  const idlePollIntervalMs = positive('idlePollIntervalMs', options.idlePollIntervalMs ?? 30_000);
  const quietAfterMs = nonNegative('quietAfterMs', options.quietAfterMs ?? 3000);
  const pollJitter = options.pollJitter ?? 0.05;
  const lookbackMs = positive('lookbackMs', options.lookbackMs ?? 10_000);
  const retentionMs = positive('retentionMs', options.retentionMs ?? 600_000);
  const callTimeoutMs = positive('callTimeoutMs', options.callTimeoutMs ?? 5000);
  const deadLetterRetentionMs = positive(
    'deadLetterRetentionMs',
    options.deadLetterRetentionMs ?? 7 * 24 * 3600_000,
  );
  const redelivery = resolveRedeliveryOptions(options.redelivery);
  if (idlePollIntervalMs < pollIntervalMs) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `idlePollIntervalMs (${idlePollIntervalMs}) must be at least pollIntervalMs (${pollIntervalMs}); set them equal to poll at a fixed rate`,
    );
  }
  if (!Number.isFinite(pollJitter) || pollJitter < 0 || pollJitter >= 1) {
    throw new GossiplessError('INVALID_OPTIONS', `pollJitter must be in [0, 1), got ${String(pollJitter)}`);
  }
  if (retentionMs <= lookbackMs * 2) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `retentionMs (${retentionMs}) must exceed twice lookbackMs (${lookbackMs}), or messages could be deleted before every consumer read them`,
    );
  }
  if (options.consumerName !== undefined && !isValidNodeId(options.consumerName)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `consumerName "${options.consumerName}" must be letters, digits, '.', '_' or '-'`,
    );
  }
  if (longestRedeliveryMs(redelivery) + lookbackMs * 2 >= retentionMs) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `retentionMs (${retentionMs}) must exceed the longest redelivery (${longestRedeliveryMs(redelivery)} ms with these redelivery settings) plus twice lookbackMs (${lookbackMs}), or a message held for redelivery could be deleted before a restarted consumer reads it again`,
    );
  }
  return {
    pollIntervalMs,
    idlePollIntervalMs,
    quietAfterMs,
    pollJitter,
    lookbackMs,
    retentionMs,
    callTimeoutMs,
    // An acknowledged attempt commits within this of its row key's time, well inside the look-back.
    publishAttemptMs: Math.min(callTimeoutMs, lookbackMs / 2),
    deadLetterRetentionMs,
    redelivery,
    consumerName: options.consumerName,
    random: options.random ?? Math.random,
  };
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

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new GossiplessError('INVALID_OPTIONS', `${name} must be 0 or more ms, got ${String(value)}`);
  }
  return value;
}
