/** A member as seen in the table. */
export interface Member {
  nodeId: string;
  /** What the node advertises about itself (address, version, …). */
  metadata: Record<string, unknown>;
  /** When the node started, by its own clock (ISO 8601). A label, never compared across nodes. */
  startedAt: string;
  /** Bumped on every metadata change by its owner. */
  incarnation: number;
  /** Server time of the row's last heartbeat (ms since epoch). */
  lastHeartbeatAt: number;
  /** serverNow − lastHeartbeatAt at the time of the view. */
  ageMs: number;
  /** `suspect` when a heartbeat is late (age over 2 heartbeat intervals) but the TTL has not passed. */
  state: 'alive' | 'suspect';
  /** Present on the leader's row: its epoch and last lease renewal by the server's clock. */
  leader?: { epoch: number; leaseRenewedAt: number };
}

/** One read of the membership table, judged by the server's clock. */
export interface MembershipView {
  members: Member[];
  /** The server's clock at the read (the response's `Date` header), ms since epoch. */
  serverNow: number;
}

/** Parses a member row; returns undefined for a row that is not a valid member (skipped). */
export function parseMemberRow(
  row: Record<string, unknown>,
  serverNow: number,
  suspectAfterMs: number,
): Member | undefined {
  const nodeId = row['nodeId'];
  const timestamp = row['timestamp'];
  if (typeof nodeId !== 'string' || typeof timestamp !== 'string') return undefined;
  const lastHeartbeatAt = Date.parse(timestamp);
  if (Number.isNaN(lastHeartbeatAt)) return undefined;
  let metadata: Record<string, unknown> = {};
  if (typeof row['metadata'] === 'string') {
    try {
      const parsed: unknown = JSON.parse(row['metadata']);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        metadata = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  const ageMs = Math.max(0, serverNow - lastHeartbeatAt);
  return {
    nodeId,
    metadata,
    startedAt: typeof row['startedAt'] === 'string' ? row['startedAt'] : '',
    incarnation: typeof row['incarnation'] === 'number' ? row['incarnation'] : 0,
    lastHeartbeatAt,
    ageMs,
    state: ageMs > suspectAfterMs ? 'suspect' : 'alive',
    ...(typeof row['leaderEpoch'] === 'number' && typeof row['leaseRenewedAt'] === 'number'
      ? { leader: { epoch: row['leaderEpoch'], leaseRenewedAt: row['leaseRenewedAt'] } }
      : {}),
  };
}
