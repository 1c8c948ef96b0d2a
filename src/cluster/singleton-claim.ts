import type { TableClient } from '@azure/data-tables';
import { claimPartition, partitionEquals } from '../table-layout/index.js';
import { deadlineSignal, isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/index.js';

/** Outcome of claiming one tick of a singleton job. */
export type ClaimOutcome = 'claimed' | 'already-run' | 'fenced' | 'lost-race';

/** What {@link claimTick} found: the outcome, and for `fenced` the higher epoch the claim row holds. */
export interface ClaimResult {
  outcome: ClaimOutcome;
  /** Epoch stored in the claim row when it fenced us off. */
  claimEpoch?: number;
  /** For `claimed`: the row as this claim wrote it, to pass as `previous` to the next claim of the job. */
  written?: WrittenClaim;
}

/** A claim row as this node last wrote it: its ETag and the tick and epoch it holds. */
export interface WrittenClaim {
  etag: string;
  tick: number;
  epoch: number;
}

/**
 * The highest epoch any of the cluster's tick claims holds (0 when none): a floor under the next
 * term's epoch, so an epoch lost from the lease blob cannot restart below epochs already used.
 */
export async function highestClaimedEpoch(
  table: TableClient,
  cluster: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<number> {
  let highest = 0;
  try {
    const rows = table.listEntities<{ epoch?: number }>({
      queryOptions: {
        filter: partitionEquals(claimPartition(cluster)),
        select: ['epoch'],
      },
      abortSignal: options.abortSignal,
    });
    for await (const row of rows) {
      if (typeof row.epoch === 'number' && Number.isSafeInteger(row.epoch))
        highest = Math.max(highest, row.epoch);
    }
  } catch (error) {
    // No table yet means no claim yet.
    if (!isNotFound(error)) throw error;
  }
  return highest;
}

interface ClaimRow {
  tick?: number;
  epoch?: number;
  nodeId?: string;
  etag: string;
}

/**
 * Claims tick `tick` of singleton `name` for term `epoch`, with a conditional write: a tick runs at
 * most once across leaders, and a leader whose epoch is older than the last claimant's (a paused
 * node that has not noticed its demotion) is fenced off.
 *
 * `previous` is the row as this node's last successful claim of the job wrote it. While the row
 * still has that ETag it holds exactly that tick and epoch, so a claim of a later tick under the
 * same or a later epoch is one write conditional on it: the leader's claim every tick costs one
 * transaction, not a read and a write. When the row has changed since (412) or is gone (404), or
 * nothing is known, the claim reads the row and decides from what it holds.
 */
export async function claimTick(
  table: TableClient,
  where: { cluster: string; name: string; nodeId: string },
  tick: number,
  epoch: number,
  callTimeoutMs: number,
  signal: AbortSignal,
  previous?: WrittenClaim,
): Promise<ClaimResult> {
  const partitionKey = claimPartition(where.cluster);
  const rowKey = where.name;
  const entity = { partitionKey, rowKey, tick, epoch, nodeId: where.nodeId };
  const claimed = (etag: string | undefined): ClaimResult => ({
    outcome: 'claimed',
    ...(etag ? { written: { etag, tick, epoch } } : {}),
  });
  if (previous && previous.tick < tick && previous.epoch <= epoch) {
    try {
      const response = await table.updateEntity(entity, 'Replace', {
        etag: previous.etag,
        abortSignal: deadlineSignal(callTimeoutMs, signal),
      });
      return claimed(response.etag);
    } catch (error) {
      if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
    }
  }
  let row: ClaimRow | undefined;
  try {
    row = await table.getEntity<ClaimRow>(partitionKey, rowKey, {
      abortSignal: deadlineSignal(callTimeoutMs, signal),
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!row) {
    try {
      const response = await table.createEntity(entity, {
        abortSignal: deadlineSignal(callTimeoutMs, signal),
      });
      return claimed(response.etag);
    } catch (error) {
      if (isAlreadyExists(error)) return { outcome: 'lost-race' };
      throw error;
    }
  }
  if (typeof row.epoch === 'number' && row.epoch > epoch) return { outcome: 'fenced', claimEpoch: row.epoch };
  if (typeof row.tick === 'number' && row.tick >= tick) return { outcome: 'already-run' };
  try {
    const response = await table.updateEntity(entity, 'Replace', {
      etag: row.etag,
      abortSignal: deadlineSignal(callTimeoutMs, signal),
    });
    return claimed(response.etag);
  } catch (error) {
    if (isPreconditionFailed(error)) return { outcome: 'lost-race' };
    throw error;
  }
}
