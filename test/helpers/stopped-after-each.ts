import { afterEach } from 'vitest';

/** A list whose members (electors, cluster nodes) are stopped at once after each test. Call at a file's top level. */
export function stoppedAfterEach<
  T extends { stop(options: { immediate: boolean }): Promise<unknown> },
>(): T[] {
  const started: T[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop({ immediate: true })));
  });
  return started;
}
