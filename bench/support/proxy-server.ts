import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The plumbing every bench proxy in front of an Azurite service port shares: its server, the
 * upstream agent, `listen`/`close`, the request log and the forwarding of one request. A subclass
 * decides what to record, whether to forward, and what to do with the answer.
 */
export abstract class ProxyServer<R> {
  readonly #server: http.Server;
  // No keep-alive upstream: reusing an idle socket just as Azurite closes it (its keep-alive timeout)
  // resets the request, which the node would see as a storage error the proxy caused.
  readonly #agent = new http.Agent({ keepAlive: false, maxSockets: 256 });
  /** Every request since the last {@link reset}. */
  requests: R[] = [];
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.#server = http.createServer((req, res) => this.handle(req, res));
    // Node's default keep-alive timeout (5 s) is shorter than some poll gaps; keep sockets open.
    this.#server.keepAliveTimeout = 60_000;
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void;

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Starts a new counting window. */
  reset(): void {
    this.requests = [];
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  protected closeIdleConnections(): void {
    this.#server.closeIdleConnections();
  }

  /**
   * Sends `req` upstream — its body streamed, or `body` when the subclass has read it already — and
   * hands the answer to `onAnswer`, which must write `res`. A failure on either side ends both.
   */
  protected sendUpstream(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer | undefined,
    onAnswer: (answer: http.IncomingMessage) => void,
  ): void {
    const upstream = http.request(
      {
        host: this.targetHost,
        port: this.targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.#agent,
      },
      onAnswer,
    );
    upstream.on('error', () => res.destroy());
    if (body !== undefined) {
      upstream.end(body);
      return;
    }
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }
}

/** Passes an upstream answer through unchanged. */
export function pipeAnswer(answer: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(answer.statusCode ?? 502, answer.headers);
  answer.pipe(res);
}

/** A blob + table proxy pair and a connection string that routes through them. */
export interface ProxyPair<P> {
  blob: P;
  table: P;
  connectionString: string;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a blob and a table proxy (made by `make` for an upstream port) in front of an Azurite instance. */
export async function proxyPair<P extends ProxyServer<unknown>>(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
  make: (targetPort: number, service: 'blob' | 'table') => P,
): Promise<ProxyPair<P>> {
  const blob = await make(azurite.blobPort, 'blob').listen();
  const table = await make(azurite.tablePort, 'table').listen();
  return {
    blob,
    table,
    connectionString: connectionStringFor(
      `http://127.0.0.1:${blob.port}/devstoreaccount1`,
      `http://127.0.0.1:${table.port}/devstoreaccount1`,
    ),
    reset: () => {
      blob.reset();
      table.reset();
    },
    close: async () => {
      await Promise.all([blob.close(), table.close()]);
    },
  };
}
