import { spawn } from 'node:child_process';
import net from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURITE_ACCOUNT_KEY } from '../../src/dev/azurite.js';

const root = resolve(import.meta.dirname, '../..');

// A storage endpoint that accepts connections and never answers (a black-holing proxy or firewall).
const sockets = new Set<net.Socket>();
const silent = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('error', () => undefined);
  socket.on('close', () => sockets.delete(socket));
});
let port = 0;

beforeAll(async () => {
  await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
  port = (silent.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((done) => silent.close(done));
});

describe('gossipless status against an endpoint that accepts and never answers (issue #17)', () => {
  it('prints one clear error and exits 2 soon after, with nothing left keeping the process alive', async () => {
    const endpoint = `http://127.0.0.1:${port}/devstoreaccount1`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/bin.ts', 'status', '--cluster', 'silent'],
      {
        cwd: root,
        env: {
          ...process.env,
          AZURE_STORAGE_CONNECTION_STRING:
            `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};` +
            `BlobEndpoint=${endpoint};TableEndpoint=${endpoint};`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let erroredAt: number | undefined;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      erroredAt ??= performance.now();
    });
    const exit = await new Promise<{ code: number | null; at: number }>((done) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 100_000);
      child.once('exit', (code) => {
        clearTimeout(killer);
        done({ code, at: performance.now() });
      });
    });
    expect(exit.code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('did not answer');
    expect(stderr).not.toContain('internal error');
    // Before the fix the process lingered until the slowest sibling read gave up (25 s here, forever
    // with keep-alive sockets elsewhere). The bound leaves room for a loaded machine.
    expect(exit.at - erroredAt!).toBeLessThan(12_000);
  }, 120_000);
});
