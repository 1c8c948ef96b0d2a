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
 */
export async function claimTick(
  table: TableClient,
  where: { cluster: string; name: string; nodeId: string },
  tick: number,
  epoch: number,
  callTimeoutMs: number,
  signal: AbortSignal,
): Promise<ClaimResult> {
  const partitionKey = claimPartition(where.cluster);
  const rowKey = where.name;
  const entity = { partitionKey, rowKey, tick, epoch, nodeId: where.nodeId };
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
      await table.createEntity(entity, { abortSignal: deadlineSignal(callTimeoutMs, signal) });
      return { outcome: 'claimed' };
    } catch (error) {
      if (isAlreadyExists(error)) return { outcome: 'lost-race' };
      throw error;
    }
  }
  if (typeof row.epoch === 'number' && row.epoch > epoch) return { outcome: 'fenced', claimEpoch: row.epoch };
  if (typeof row.tick === 'number' && row.tick >= tick) return { outcome: 'already-run' };
  try {
    await table.updateEntity(entity, 'Replace', {
      etag: row.etag,
      abortSignal: deadlineSignal(callTimeoutMs, signal),
    });
    return { outcome: 'claimed' };
  } catch (error) {
    if (isPreconditionFailed(error)) return { outcome: 'lost-race' };
    throw error;
  }
}
