import type { LeaseStateType } from '@azure/storage-blob';
import { deadlineSignal, isNotFound, type StorageConnection } from '../storage/index.js';

/** Who leads, as the lease blob tells anyone who reads it. */
export interface LeaderInfo {
  /** Node id of the last node to win an election (undefined before the first). */
  holder: string | undefined;
  /** Epoch of that node's term (0 before the first election). */
  epoch: number;
  /** When that term began, by the holder's wall clock (ISO 8601). */
  since: string | undefined;
  /** The blob's lease state: `leased` means someone holds it now. */
  leaseState: LeaseStateType | 'missing';
  /** True when the lease is currently held. */
  isHeld: boolean;
  /** Last change to the blob (the last epoch write, or a re-write of the renewal grid), by the server's clock. */
  lastModified: Date | undefined;
}

/**
 * The term epoch in the lease blob's metadata (written by the leader with its term), or 0 when
 * there is none or it is not a positive integer (no election yet, an edited value).
 */
export function epochOfMetadata(metadata: Record<string, string> | undefined): number {
  const epoch = Number(metadata?.['epoch'] ?? '0');
  return Number.isSafeInteger(epoch) && epoch > 0 ? epoch : 0;
}

/** Reads the lease blob's properties. Needs read access only. */
export async function readLeaderInfo(
  storage: StorageConnection,
  where: { container: string; cluster: string; callTimeoutMs?: number },
  options: { abortSignal?: AbortSignal } = {},
): Promise<LeaderInfo> {
  const blob = storage.containerClient(where.container).getBlobClient(`${where.cluster}/leader`);
  try {
    const props = await blob.getProperties({
      abortSignal: deadlineSignal(where.callTimeoutMs ?? 5000, options.abortSignal),
    });
    const leaseState = props.leaseState ?? 'available';
    return {
      holder: props.metadata?.['holder'],
      epoch: epochOfMetadata(props.metadata),
      since: props.metadata?.['since'],
      leaseState,
      isHeld: leaseState === 'leased',
      lastModified: props.lastModified,
    };
  } catch (error) {
    if (isNotFound(error)) {
      return {
        holder: undefined,
        epoch: 0,
        since: undefined,
        leaseState: 'missing',
        isHeld: false,
        lastModified: undefined,
      };
    }
    throw error;
  }
}
