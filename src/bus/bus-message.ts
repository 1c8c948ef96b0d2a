/** A message as delivered to subscribers. */
export interface BusMessage<T = unknown> {
  /**
   * Id, unique within its channel: publisher time, node id and per-channel sequence
   * (`<time>_<node>_<seq>`); two channels can carry the same id, so deduplicate by channel and id.
   * It is the row key of the first write attempt; a retry is stored under a fresh row key with the
   * same id, so never deduplicate by row key.
   */
  id: string;
  channel: string;
  payload: T;
  /** Publisher's node id. */
  from: string;
  /** Publisher's per-channel sequence number (increasing). */
  seq: number;
  /** The publisher's leader epoch when it published as leader. */
  epoch: number | undefined;
  /**
   * Time in the row key of the copy delivered, by the publisher's estimate of the server clock
   * (ms since epoch): the publish attempt that stored it.
   */
  publishedAt: number;
  /**
   * The publisher's upper bound on the server's clock when it keyed the message's first attempt:
   * it was surely published before this (ms since the epoch). Undefined on rows written by versions
   * that did not stamp it. Used by `since: 'subscribed'`.
   */
  publishedBefore?: number | undefined;
}

/** Largest payload, as serialised JSON: Azure's 64 KiB limit on a string property (UTF-16). */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Stored row shape. */
export interface BusRow {
  partitionKey: string;
  rowKey: string;
  channel: string;
  nodeId: string;
  seq: number;
  epoch?: number;
  payload: string;
  /** The stable message id when the row key is a retry's (absent in rows of older versions). */
  messageId?: string;
}

const TIME_DIGITS = 15;
const SEQ_DIGITS = 12;

/** Row key: zero-padded time, node id, zero-padded sequence — sorts by publisher time. */
export function messageRowKey(timeMs: number, nodeId: string, seq: number): string {
  return `${Math.max(0, Math.floor(timeMs)).toString().padStart(TIME_DIGITS, '0')}_${nodeId}_${seq
    .toString()
    .padStart(SEQ_DIGITS, '0')}`;
}

/** The smallest row key at or after `timeMs`. */
export function rowKeyLowerBound(timeMs: number): string {
  return Math.max(0, Math.floor(timeMs)).toString().padStart(TIME_DIGITS, '0');
}

/** Publisher time encoded in a row key, or undefined if the key is not one of ours. */
export function timeOfRowKey(rowKey: string): number | undefined {
  const head = rowKey.slice(0, TIME_DIGITS);
  return /^\d{15}$/.test(head) ? Number(head) : undefined;
}

/**
 * Validates a row read from the table. Rows are written by other processes (other versions,
 * other tools, hand edits), so nothing is trusted: returns the message or why it was refused.
 */
export function parseBusRow(entity: Record<string, unknown>): { message: BusMessage } | { reason: string } {
  const rowKey = entity['rowKey'];
  if (typeof rowKey !== 'string') return { reason: 'row key missing' };
  const publishedAt = timeOfRowKey(rowKey);
  if (publishedAt === undefined) return { reason: 'row key is not <time>_<node>_<seq>' };
  const channel = entity['channel'];
  const nodeId = entity['nodeId'];
  const seq = entity['seq'];
  const epoch = entity['epoch'];
  const payload = entity['payload'];
  if (typeof channel !== 'string' || channel === '') return { reason: 'channel is not a string' };
  if (typeof nodeId !== 'string' || nodeId === '') return { reason: 'nodeId is not a string' };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    return { reason: 'seq is not an integer' };
  if (epoch !== undefined && epoch !== null && (typeof epoch !== 'number' || !Number.isSafeInteger(epoch))) {
    return { reason: 'epoch is not an integer' };
  }
  if (typeof payload !== 'string') return { reason: 'payload is not a string' };
  const publishedBefore = entity['publishedBefore'];
  const messageId = entity['messageId'];
  if (messageId !== undefined && messageId !== null) {
    if (typeof messageId !== 'string' || timeOfRowKey(messageId) === undefined)
      return { reason: 'messageId is not <time>_<node>_<seq>' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { reason: 'payload is not valid JSON' };
  }
  return {
    message: {
      id: typeof messageId === 'string' ? messageId : rowKey,
      channel,
      payload: parsed,
      from: nodeId,
      seq,
      epoch: typeof epoch === 'number' ? epoch : undefined,
      publishedAt,
      // Only ever loosens the `since` filter (a later bound delivers more): not worth refusing a row for.
      publishedBefore:
        typeof publishedBefore === 'number' && Number.isFinite(publishedBefore) ? publishedBefore : undefined,
    },
  };
}
