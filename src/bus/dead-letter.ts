import { redactUnknown } from '../redact/index.js';
import type { BusMessage } from './bus-message.js';
import { deadLetterPartition } from '../table-layout/index.js';

/** A message a consumer gave up on, as stored on the dead-letter partition. */
export interface DeadLetter {
  /** The original message id (deduplicate by it, as on the channel). */
  messageId: string;
  channel: string;
  /** Publisher's node id. */
  from: string;
  seq: number;
  epoch: number | undefined;
  /** The original payload, as the JSON string that was published. */
  payload: string;
  /** The last handler error, redacted and cut to {@link MAX_DEAD_LETTER_ERROR_CHARS}. */
  error: string;
  /** Deliveries made before giving up. */
  attempts: number;
  /** The consumer that gave up: its `consumerName`, else its node id. */
  consumer: string;
  /** Server time of parking (ms since the epoch). */
  deadAt: number;
}

/** Longest stored error text. */
export const MAX_DEAD_LETTER_ERROR_CHARS = 4000;

/**
 * The row for a parked message. The row key starts with the message id (so it sorts, and is
 * retained, by publish time) and ends with the consumer, so each consumer that gives up on a
 * message parks its own row and re-parking after a restart overwrites instead of duplicating.
 */
export function deadLetterEntity(
  cluster: string,
  message: BusMessage,
  json: string,
  details: { error: unknown; attempts: number; consumer: string; deadAt: number },
): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  return {
    partitionKey: deadLetterPartition(cluster, message.channel),
    rowKey: `${message.id}~${details.consumer}`,
    messageId: message.id,
    channel: message.channel,
    nodeId: message.from,
    seq: message.seq,
    ...(message.epoch !== undefined ? { epoch: message.epoch } : {}),
    payload: json,
    error: redactUnknown(details.error).slice(0, MAX_DEAD_LETTER_ERROR_CHARS),
    attempts: details.attempts,
    consumer: details.consumer,
    deadAt: details.deadAt,
  };
}

/** Reads a dead-letter row; undefined when it does not have the stored shape. */
export function parseDeadLetterRow(row: Record<string, unknown>): DeadLetter | undefined {
  const { messageId, channel, nodeId, seq, epoch, payload, error, attempts, consumer, deadAt } = row;
  if (
    typeof messageId !== 'string' ||
    typeof channel !== 'string' ||
    typeof nodeId !== 'string' ||
    typeof seq !== 'number' ||
    typeof payload !== 'string' ||
    typeof error !== 'string' ||
    typeof attempts !== 'number' ||
    typeof consumer !== 'string' ||
    typeof deadAt !== 'number'
  ) {
    return undefined;
  }
  return {
    messageId,
    channel,
    from: nodeId,
    seq,
    epoch: typeof epoch === 'number' ? epoch : undefined,
    payload,
    error,
    attempts,
    consumer,
    deadAt,
  };
}
