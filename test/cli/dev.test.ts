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
