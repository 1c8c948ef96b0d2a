import { proxyStorage, type StorageProxies } from './counting-proxy.js';
import { waitForEvent, type NodeEvent, type NodeProcess } from '../../test/helpers/node-process.js';
import { sleep } from './report.js';

/**
 * One place of a bench cluster: a counting proxy pair that its node processes talk through, the
 * node running there now (a restart keeps the slot and bumps `generation`) and the wall times of
 * the lease calls the proxy saw succeed.
 */
export interface NodeSlot<N extends NodeProcess = NodeProcess> {
  index: number;
  proxies: StorageProxies;
  node: N | undefined;
  generation: number;
  /** Wall times at which a lease acquire/renew sent through this slot's proxy succeeded. */
  leaseExtensions: number[];
  releases: number[];
}

/** `n` slots (indexed 1…n), each with its own proxy pair in front of `azurite`, no node started yet. */
export async function proxiedSlots<N extends NodeProcess = NodeProcess>(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
  n: number,
): Promise<Array<NodeSlot<N>>> {
  const made: Array<NodeSlot<N>> = [];
  for (let index = 1; index <= n; index++) {
    const proxies = await proxyStorage(azurite, connectionStringFor);
    const slot: NodeSlot<N> = {
      index,
      proxies,
      node: undefined,
      generation: 0,
      leaseExtensions: [],
      releases: [],
    };
    proxies.blob.onAnswered = (r) => {
      const ok = r.status !== undefined && r.status < 300;
      if (ok && (r.leaseAction === 'acquire' || r.leaseAction === 'renew'))
        slot.leaseExtensions.push(r.sentAt);
      if (ok && r.leaseAction === 'release') slot.releases.push(r.sentAt);
    };
    made.push(slot);
  }
  return made;
}

/** The slot whose running node's last election event is `elected`. */
export function leaderSlot<S extends NodeSlot<NodeProcess>>(
  group: readonly S[],
  history: NodeEvent[],
): S | undefined {
  for (const slot of group) {
    const id = slot.node?.nodeId;
    if (!id || !slot.node?.running) continue;
    const last = history
      .filter((e) => e.node === id && (e.type === 'elected' || e.type === 'demoted'))
      .at(-1);
    if (last?.type === 'elected') return slot;
  }
  return undefined;
}

/** Polls until a slot of `group` leads, or rejects after `timeoutMs`. */
export async function waitForLeader<S extends NodeSlot<NodeProcess>>(
  group: readonly S[],
  history: NodeEvent[],
  timeoutMs: number,
): Promise<S> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const slot = leaderSlot(group, history);
    if (slot) return slot;
    if (Date.now() > deadline) throw new Error('no leader was elected in time');
    await sleep(50);
  }
}

/** The first `elected` at or after `after` on a node other than `notNode`. */
export function nextElected(
  history: NodeEvent[],
  after: number,
  notNode: string,
  timeoutMs: number,
): Promise<NodeEvent> {
  return waitForEvent(
    history,
    (e) => e.type === 'elected' && e.t >= after && e.node !== notNode,
    timeoutMs,
    `a new leader after ${notNode}`,
  );
}
