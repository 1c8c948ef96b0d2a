/**
 * Runs a bench's `main` with what every bench needs around it: a watchdog that gives up after
 * `watchdogMs`, cleanup on SIGINT/SIGTERM, and cleanup plus exit code 1 on failure — so a bench
 * always stops by itself and never leaves Azurite or a child process behind.
 */
export async function runBench(
  name: string,
  watchdogMs: number,
  main: () => Promise<void>,
  cleanup: () => Promise<void>,
): Promise<void> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${watchdogMs / 1000} s; giving up\n`);
    void cleanup().finally(() => process.exit(1));
  }, watchdogMs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  }
  try {
    await main();
    await cleanup();
    clearTimeout(watchdog);
  } catch (error) {
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanup();
    process.exit(1);
  }
}
