import { sleep } from '../clock/index.js';

/**
 * Puts lease renewals ahead of membership and bus traffic on one storage connection. The lease
 * elector holds the gate from the moment a renewal is due until it succeeds (or the term ends);
 * table calls made through the same connection wait, at most `maxWaitMs`, for it to clear before
 * they are sent. On a throttled account (503 ServerBusy, 429) this keeps background polls from
 * taking the request budget a renewal needs, so throttling cannot starve a leader into stepping down.
 * The bound keeps a stuck renewal from stalling heartbeats for longer than one short pause.
 */
export class LeasePriorityGate {
  #held = 0;
  #cleared: Array<() => void> = [];

  /** True while a renewal is due or in flight. */
  get busy(): boolean {
    return this.#held > 0;
  }

  /** Marks a renewal as due; call the returned function (idempotent) when it is done. */
  hold(): () => void {
    this.#held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held--;
      if (this.#held === 0) for (const resolve of this.#cleared.splice(0)) resolve();
    };
  }

  /** Resolves when no renewal is due, after `maxWaitMs`, or when `signal` aborts, whichever is first. */
  async whenClear(maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#held === 0) return;
    const clear = new AbortController();
    this.#cleared.push(() => clear.abort());
    await sleep(maxWaitMs, clear.signal, signal);
    clear.abort();
  }
}
