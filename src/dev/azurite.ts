import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GossiplessError } from '@gossipless/runtime/errors';

/** Azurite's well-known development account. Public by design; it is not a secret. */
export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
/** Azurite's well-known development key (documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options for {@link startAzurite}. */
export interface StartAzuriteOptions {
  /** Loopback host to listen on. @default '127.0.0.1' */
  host?: string;
  /** Blob port; 0 picks a free one. @default 0 */
  blobPort?: number;
  /** Table port; 0 picks a free one. @default 0 */
  tablePort?: number;
  /** How long to wait for both services to accept connections. @default 30000 */
  startTimeoutMs?: number;
  /**
   * Keep data on disk in this folder instead of in memory, so a restarted Azurite on the same ports
   * still has it (as Azure would). @default undefined (in memory)
   */
  location?: string;
}

/** A running Azurite child process. */
export interface AzuriteInstance {
  /** Connection string for the development account on this instance. */
  readonly connectionString: string;
  readonly blobEndpoint: string;
  readonly tableEndpoint: string;
  readonly blobPort: number;
  readonly tablePort: number;
  readonly pid: number | undefined;
  /**
   * Settles when the Azurite process ends for any reason, with its last output: a caller that
   * keeps it up (as `gossipless dev` does) learns of a crash instead of waiting on a dead child.
   */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
  /** Stops the process and removes its workspace. Idempotent. */
  stop(): Promise<void>;
}

/** Asks the OS for a free loopback port. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe server'));
      });
    });
  });
}

/**
 * Throws a one-line error at once when `port` cannot be listened on at `host` (another process has
 * it, or it needs privileges): Azurite itself would keep running without that service and a start-up
 * wait would only time out (issue #17).
 */
export async function assertPortFree(host: string, port: number, service: 'blob' | 'table'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'is in use by another process'
          : error.code === 'EACCES'
            ? 'needs privileges to listen on'
            : `cannot be listened on (${error.code ?? error.message})`;
      reject(
        new GossiplessError(
          'AZURITE_FAILED',
          `the ${service} port ${port} (${host}:${port}) ${why}: pick another, or leave it unset for a free one`,
        ),
      );
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/**
 * Resolves once `host:port` accepts a TCP connection; rejects at the wall-clock `deadline`. Readiness
 * by connect, not by a request, so a probe spends nothing of what is being started or tested.
 */
export async function waitForPort(
  host: string,
  port: number,
  deadline: number,
  what = 'Azurite',
): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) {
      throw new GossiplessError('AZURITE_FAILED', `${what} did not open ${host}:${port} in time`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Builds the connection string for Azurite's development account at the given endpoints. */
export function azuriteConnectionString(blobEndpoint: string, tableEndpoint: string): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `BlobEndpoint=${blobEndpoint};TableEndpoint=${tableEndpoint};`
  );
}

/**
 * Starts an in-memory Azurite (blob + table) as a child process on free loopback ports.
 * Telemetry is disabled and API version checks are skipped so a newer SDK can talk to it.
 *
 * @example
 * ```ts
 * const azurite = await startAzurite();
 * const storage = await connectStorage({ connectionString: azurite.connectionString });
 * // …
 * await azurite.stop();
 * ```
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteInstance> {
  const host = options.host ?? '127.0.0.1';
  if (options.blobPort && options.blobPort === options.tablePort) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `blob and table ports are both ${options.blobPort}: each service needs its own port`,
    );
  }
  if (options.blobPort) await assertPortFree(host, options.blobPort, 'blob');
  if (options.tablePort) await assertPortFree(host, options.tablePort, 'table');
  const blobPort = options.blobPort || (await findFreePort(host));
  const tablePort = options.tablePort || (await findFreePort(host));
  const queuePort = await findFreePort(host);
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const require = createRequire(import.meta.url);
  const entry = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  // Azurite refuses --location with in-memory persistence but still writes small files to its cwd:
  // run it in a temporary folder so nothing lands in the user's tree.
  const workspace = await mkdtemp(path.join(tmpdir(), 'gossipless-azurite-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      '--silent',
      '--blobHost',
      host,
      '--blobPort',
      String(blobPort),
      '--tableHost',
      host,
      '--tablePort',
      String(tablePort),
      '--queueHost',
      host,
      '--queuePort',
      String(queuePort),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: workspace },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>(
    (resolve) => child.once('exit', (code, signal) => resolve({ code, signal, output: output.trim() })),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(workspace, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + startTimeoutMs;
    const earlyExit = exited.then(() => {
      throw new GossiplessError('AZURITE_FAILED', `Azurite exited during start-up: ${output.trim()}`);
    });
    await Promise.race([
      Promise.all([waitForPort(host, blobPort, deadline), waitForPort(host, tablePort, deadline)]),
      earlyExit,
    ]);
    earlyExit.catch(() => undefined);
  } catch (error) {
    await stop();
    throw error;
  }
  const blobEndpoint = `http://${host}:${blobPort}/${AZURITE_ACCOUNT_NAME}`;
  const tableEndpoint = `http://${host}:${tablePort}/${AZURITE_ACCOUNT_NAME}`;
  return {
    connectionString: azuriteConnectionString(blobEndpoint, tableEndpoint),
    blobEndpoint,
    tableEndpoint,
    blobPort,
    tablePort,
    pid: child.pid,
    exited,
    stop,
  };
}
