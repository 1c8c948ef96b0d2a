import { sleep, readLeaderInfo, type StorageConnection } from '@gossipless/runtime';

/** A change of lease holder, epoch or lease state, as seen from outside the cluster. */
export interface LeaderObservation {
  t: number;
  holder: string | undefined;
  epoch: number;
  isHeld: boolean;
}

/**
 * Reads the lease blob in a loop and records every change, the way `gossipless status` sees the
 * cluster: the demo measures failover from these, not from what the replicas say of themselves.
 */
export class LeaderObserver {
  readonly observations: LeaderObservation[] = [];
  /** Poll period; shortened around a handover to measure it finely. */
  everyMs = 200;
  #running = true;
  readonly #loop: Promise<void>;

  constructor(storage: StorageConnection, cluster: string) {
    this.#loop = (async () => {
      while (this.#running) {
        try {
          const info = await readLeaderInfo(storage, { container: 'gossipless', cluster });
          const last = this.observations.at(-1);
          if (
            !last ||
            last.holder !== info.holder ||
            last.epoch !== info.epoch ||
            last.isHeld !== info.isHeld
          ) {
            this.observations.push({
              t: Date.now(),
              holder: info.holder,
              epoch: info.epoch,
              isHeld: info.isHeld,
            });
          }
        } catch {
          // Not there yet: the replicas create it.
        }
        await sleep(this.everyMs);
      }
    })();
  }

  /** The first held lease seen after `t` with an epoch above `epoch`. */
  heldAfter(t: number, epoch: number): LeaderObservation | undefined {
    return this.observations.find((o) => o.t > t && o.isHeld && o.epoch > epoch);
  }

  /** Epoch of the lease currently held, as last seen (0 before any). */
  get currentEpoch(): number {
    return this.observations.filter((o) => o.isHeld).at(-1)?.epoch ?? 0;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }
}
