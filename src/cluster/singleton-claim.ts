import type { TableClient } from '@azure/data-tables';
import { deadlineSignal, isAlreadyExists, isNotFound, isPreconditionFailed } from '../storage/index.js';

/** Outcome of claiming one tick of a singleton job. */
export type ClaimOutcome = 'claimed' | 'already-run' | 'fenced' | 'lost-race';

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
): Promise<ClaimOutcome> {
  const partitionKey = `j:${where.cluster}`;
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
      return 'claimed';
    } catch (error) {
      if (isAlreadyExists(error)) return 'lost-race';
      throw error;
    }
  }
  if (typeof row.epoch === 'number' && row.epoch > epoch) return 'fenced';
  if (typeof row.tick === 'number' && row.tick >= tick) return 'already-run';
  try {
    await table.updateEntity(entity, 'Replace', {
      etag: row.etag,
      abortSignal: deadlineSignal(callTimeoutMs, signal),
    });
    return 'claimed';
  } catch (error) {
    if (isPreconditionFailed(error)) return 'lost-race';
    throw error;
  }
}
