import { proxyStorage, type StorageProxies } from './counting-proxy.js';
import { waitForEvent, type NodeEvent, type NodeProcess } from '../../test/helpers/node-process.js';
import { progress, seconds, sleep } from './report.js';

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

/** The lease timings a handoff is sampled over and waited for. */
export interface LeaseTimings {
  leaseDurationMs: number;
  renewIntervalMs: number;
}

/** A crash failover: kill -9 of the leader → the next `elected` elsewhere. */
export interface CrashResult {
  killed: string;
  next: string;
  epoch: number;
  killToElected: number;
  /** From the last lease extension the proxy saw before the kill: a kill just after a renewal. */
  renewToElected: number;
}

/**
 * Kills the leader of `group` with SIGKILL at a random point of its renew cycle and waits for the
 * next leader. Returns the slot it killed (the caller restarts it, or not).
 */
export async function crashLeader<S extends NodeSlot<NodeProcess>>(
  group: readonly S[],
  history: NodeEvent[],
  lease: LeaseTimings,
): Promise<{ slot: S; result: CrashResult }> {
  const slot = await waitForLeader(group, history, lease.leaseDurationMs * 3);
  const victim = slot.node!;
  // A random point of the renew cycle, so kill → elected samples the whole range.
  await sleep(Math.random() * lease.renewIntervalMs);
  const killedAt = victim.signal('SIGKILL', 'killed');
  await victim.exited;
  const lastExtension = slot.leaseExtensions.filter((t) => t <= killedAt).at(-1) ?? Number.NaN;
  const elected = await nextElected(history, killedAt, victim.nodeId, lease.leaseDurationMs * 2 + 10_000);
  const result = {
    killed: victim.nodeId,
    next: elected.node,
    epoch: elected.epoch ?? Number.NaN,
    killToElected: elected.t - killedAt,
    renewToElected: elected.t - lastExtension,
  };
  progress(`crash: ${result.killed} killed, ${result.next} elected after ${seconds(result.killToElected)}`);
  return { slot, result };
}

/** A graceful handoff: SIGTERM of the leader → `stop()` → the next `elected` elsewhere. */
export interface GracefulResult {
  stopped: string;
  next: string;
  epoch: number;
  /** The old leader's `demoted` → the next `elected`: the leadership gap. */
  gap: number;
  termToElected: number;
  releaseToElected: number;
  /** SIGTERM → `stop()` resolved. */
  stopDuration: number;
}

/**
 * Stops the leader of `group` with SIGTERM at a random point of its renew cycle, waits for the next
 * leader and for the old process to exit. Returns the slot it stopped (the caller restarts it, or not).
 */
export async function stopLeader<S extends NodeSlot<NodeProcess>>(
  group: readonly S[],
  history: NodeEvent[],
  lease: LeaseTimings,
): Promise<{ slot: S; result: GracefulResult }> {
  const slot = await waitForLeader(group, history, lease.leaseDurationMs * 3);
  const victim = slot.node!;
  await sleep(Math.random() * lease.renewIntervalMs);
  const termAt = victim.signal('SIGTERM', 'sigterm');
  const elected = await nextElected(history, termAt, victim.nodeId, lease.leaseDurationMs * 2 + 10_000);
  await victim.exited;
  const release = slot.releases.find((t) => t >= termAt) ?? Number.NaN;
  const ofVictim = (type: string): NodeEvent | undefined =>
    history.find((e) => e.node === victim.nodeId && e.type === type && e.t >= termAt);
  const result = {
    stopped: victim.nodeId,
    next: elected.node,
    epoch: elected.epoch ?? Number.NaN,
    gap: elected.t - (ofVictim('demoted')?.t ?? Number.NaN),
    termToElected: elected.t - termAt,
    releaseToElected: elected.t - release,
    stopDuration: (ofVictim('stopped')?.t ?? Number.NaN) - (ofVictim('stopping')?.t ?? termAt),
  };
  progress(
    `graceful: ${result.stopped} stopped in ${seconds(result.stopDuration)}, ${result.next} elected ${seconds(result.gap)} after its demotion`,
  );
  return { slot, result };
}
