import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { memoryIo } from '../../src/cli/io.js';
import { connectStorage } from '../../src/storage/index.js';
import { waitFor } from '../helpers/wait-for.js';

describe('gossipless dev', () => {
  it('starts a working Azurite, prints its connection string, and stops it on interrupt', async () => {
    const controller = new AbortController();
    const io = memoryIo({ signal: controller.signal });
    const running = runCli(['dev', '--json'], io);
    await waitFor(() => io.out.includes('\n'), 30_000, 'the connection string');
    const { connectionString } = JSON.parse(io.out) as { connectionString: string };
    const storage = connectStorage({ connectionString });
    expect(await storage.createTableIfNotExists('devcheck')).toEqual({ created: true });
    controller.abort();
    expect(await running).toBe(0);
    await expect(storage.createTableIfNotExists('devcheck2')).rejects.toBeDefined();
  });

  it('explains itself in --help', async () => {
    const io = memoryIo();
    expect(await runCli(['dev', '--help'], io)).toBe(0);
    expect(io.out).toContain('in-memory Azurite');
  });
});

describe('gossipless dev with ports it cannot use (issue #17)', () => {
  it('refuses the same port for blob and table at once, in one line', async () => {
    const io = memoryIo();
    const started = performance.now();
    expect(await runCli(['dev', '--blob-port', '47123', '--table-port', '47123'], io)).toBe(2);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(io.out).toBe('');
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err).toContain('each service needs its own port');
  });

  it('reports a busy port at once, naming it, instead of after the 30 s start-up wait', async () => {
    const busy = net.createServer();
    await new Promise<void>((done) => busy.listen(0, '127.0.0.1', done));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      for (const flag of ['--blob-port', '--table-port']) {
        const io = memoryIo();
        const started = performance.now();
        expect(await runCli(['dev', flag, String(port)], io)).toBe(2);
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(io.out).toBe('');
        expect(io.err.trim().split('\n')).toHaveLength(1);
        expect(io.err).toContain(`port ${port}`);
        expect(io.err).toContain('in use');
      }
    } finally {
      await new Promise((done) => busy.close(done));
    }
  });

  it('says so and exits 2 when Azurite dies after start-up, instead of waiting on nothing', async () => {
    const io = memoryIo();
    const running = runCli(['dev', '--json'], io);
    await waitFor(() => io.out.includes('\n'), 30_000, 'the connection string');
    const { pid } = JSON.parse(io.out) as { pid: number };
    process.kill(pid, 'SIGKILL');
    expect(await running).toBe(2);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err).toContain('Azurite stopped unexpectedly (SIGKILL)');
  });
});
