import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request seen by the proxy, with the upstream's answer. */
export interface ProxiedRequest {
  method: string;
  url: string;
  /** `x-ms-lease-action` of blob lease calls (acquire, renew, release, …). */
  leaseAction: string | undefined;
  /** Wall time the request arrived. */
  sentAt: number;
  /** Wall time the response head came back (undefined when the proxy refused or it failed). */
  answeredAt: number | undefined;
  status: number | undefined;
  /** `x-ms-error-code` of the answer, if any. */
  errorCode: string | undefined;
  /** The first 16 KiB of a POST's body (table inserts and batches name their partition there). */
  body: string | undefined;
}

/**
 * An HTTP proxy in front of one Azurite service port that counts every request — the unit the
 * storage bill counts — without touching the code under test: the node is simply given a
 * connection string that points here. It can also refuse traffic (`drop`), which to the node
 * looks like a crash of its storage path, for "a node stops heartbeating" scenarios.
 */
export class CountingProxy {
  readonly #server: http.Server;
  // No keep-alive upstream: reusing an idle socket just as Azurite closes it (its keep-alive timeout)
  // resets the request, which the node would see as a storage error the proxy caused.
  readonly #agent = new http.Agent({ keepAlive: false, maxSockets: 256 });
  #dropping = false;
  /** Every request since the last {@link reset}. */
  requests: ProxiedRequest[] = [];
  /** Called for each answered request, e.g. to timestamp lease renewals. */
  onAnswered: ((request: ProxiedRequest) => void) | undefined;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.#server = http.createServer((req, res) => this.#forward(req, res));
    // Node's default keep-alive timeout (5 s) is shorter than some poll gaps; keep sockets open.
    this.#server.keepAliveTimeout = 60_000;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Refuse (`true`) or forward (`false`) traffic from now on. */
  setDropping(dropping: boolean): void {
    this.#dropping = dropping;
    if (dropping) this.#server.closeIdleConnections();
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

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.#dropping) {
      req.socket.destroy();
      return;
    }
    const leaseAction = req.headers['x-ms-lease-action'];
    const record: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      leaseAction: typeof leaseAction === 'string' ? leaseAction : undefined,
      sentAt: Date.now(),
      answeredAt: undefined,
      status: undefined,
      errorCode: undefined,
      body: undefined,
    };
    this.requests.push(record);
    if (record.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        if (body.length < 16_384) body += chunk.toString('utf8');
      });
      req.on('end', () => (record.body = body));
    }
    const upstream = http.request(
      {
        host: this.targetHost,
        port: this.targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: this.#agent,
      },
      (answer) => {
        record.answeredAt = Date.now();
        record.status = answer.statusCode;
        const errorCode = answer.headers['x-ms-error-code'];
        record.errorCode = typeof errorCode === 'string' ? errorCode : undefined;
        this.onAnswered?.(record);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  }
}

/** Two counting proxies (blob and table) and a connection string that routes through them. */
export interface StorageProxies {
  blob: CountingProxy;
  table: CountingProxy;
  connectionString: string;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a blob + table proxy pair in front of an Azurite instance. */
export async function proxyStorage(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
): Promise<StorageProxies> {
  const blob = await new CountingProxy(azurite.blobPort).listen();
  const table = await new CountingProxy(azurite.tablePort).listen();
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
