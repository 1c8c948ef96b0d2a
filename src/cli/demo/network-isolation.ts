import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How replicas are kept from hearing each other's multicast, as a managed platform would. */
export interface Isolation {
  kind: 'netns' | 'ports';
  /** In words, for the summary. */
  description: string;
  /** The command prefix and extra env for replica `index`. */
  commandFor(index: number, argv: string[]): { command: string[]; env: Record<string, string> };
  dispose(): Promise<void>;
}

/**
 * Network namespaces (root with `ip netns`): each replica gets a namespace with only loopback, so a
 * multicast join fails as it does where the network does not carry multicast. Otherwise each replica
 * gets its own discovery port, so they never hear each other.
 */
export async function createIsolation(
  replicas: number,
  prefer: 'auto' | 'netns' | 'ports' = 'auto',
): Promise<Isolation> {
  if (prefer !== 'ports' && process.getuid?.() === 0) {
    const names = Array.from({ length: replicas }, (_, i) => `gossipless-demo-${process.pid}-${i}`);
    const created: string[] = [];
    try {
      for (const name of names) {
        await run('ip', ['netns', 'add', name]);
        created.push(name);
        await run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
      }
      return {
        kind: 'netns',
        description: 'each replica in its own network namespace (loopback only): multicast is not carried',
        commandFor: (index, argv) => ({ command: ['ip', 'netns', 'exec', names[index]!, ...argv], env: {} }),
        dispose: async () => {
          for (const name of created) await run('ip', ['netns', 'del', name]).catch(() => undefined);
        },
      };
    } catch (error) {
      for (const name of created) await run('ip', ['netns', 'del', name]).catch(() => undefined);
      if (prefer === 'netns') throw error;
    }
  }
  return {
    kind: 'ports',
    description:
      'each replica on its own discovery port (network namespaces need root and ip netns): no replica hears another',
    commandFor: (index, argv) => ({ command: argv, env: { DISCOVERY_PORT: String(44_300 + index) } }),
    dispose: async () => undefined,
  };
}
