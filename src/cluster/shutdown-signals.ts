/** Options of {@link handleShutdownSignals}. */
export interface ShutdownSignalOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: NodeJS.Signals[];
  /** Called after a clean stop, before the signal is re-raised. */
  onStopped?: (signal: NodeJS.Signals) => void;
  /** Called if stop() fails; the signal is re-raised all the same. */
  onError?: (error: unknown) => void;
}

/**
 * Opt-in SIGTERM/SIGINT wiring: on the first signal, stop the node (abort leader jobs, release the
 * lease, leave), then re-raise the signal so the process ends the way it would have. Kubernetes
 * sends SIGTERM on rollout; set `terminationGracePeriodSeconds` above the longest job's abort time.
 * Returns a function that removes the handlers.
 *
 * @example
 * ```ts
 * handleShutdownSignals(cluster);
 * ```
 */
export function handleShutdownSignals(
  node: { stop(): Promise<void> },
  options: ShutdownSignalOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals): void => {
    dispose();
    node.stop().then(
      () => {
        options.onStopped?.(signal);
        process.kill(process.pid, signal);
      },
      (error: unknown) => {
        options.onError?.(error);
        process.kill(process.pid, signal);
      },
    );
  };
  const dispose = (): void => {
    for (const signal of signals) process.off(signal, handler);
  };
  for (const signal of signals) process.on(signal, handler);
  return dispose;
}
