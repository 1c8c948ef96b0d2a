import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fault rules see it. */
export interface FaultRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** `x-ms-lease-action` of blob lease calls (acquire, renew, release, break, change). */
  leaseAction: string | undefined;
  /** The `comp=` query parameter (lease, metadata, …), if any. */
  comp: string | undefined;
  /** Which proxied service: the proxy's label. */
  service: string;
}

/** What the proxy does with one request. */
export type FaultAction =
  /** Forward at once. */
  | { kind: 'forward' }
  /** Hold the request `ms`, then forward it anyway (the client may have given up: the write still commits). */
  | { kind: 'delay'; ms: number }
  /** Answer without forwarding: throttling (503 ServerBusy + retry-after), 403, … */
  | { kind: 'respond'; status: number; errorCode: string; headers?: Record<string, string> }
  /** Forward, let it commit, then drop the reply (the client sees a reset after the commit). */
  | { kind: 'drop-reply' }
  /** Reset the connection without forwarding. */
  | { kind: 'reset' };

/** Decides per request; return undefined to forward. */
export type FaultRule = (request: FaultRequest) => FaultAction | undefined;

/** One request's fate, for assertions. */
export interface FaultRecord {
  at: number;
  request: FaultRequest;
  action: FaultAction['kind'];
  status: number | undefined;
}

/**
 * An HTTP proxy in front of one Azurite service port that applies a fault rule to each request:
 * the storage faults of the real service (throttling with retry-after, brownouts that commit a
 * write after the client's deadline, replies lost after a commit, resets, 403s) with a real Azurite
 * behind it. Nodes are simply given a connection string that points here.
 */
export class StorageFaultProxy {
  readonly #server: http.Server;
  // No keep-alive upstream: an idle socket Azurite closes just as we reuse it would be a fault we did not inject.
  readonly #agent = new http.Agent({ keepAlive: false, maxSockets: 512 });
  readonly #timers = new Set<NodeJS.Timeout>();
  rule: FaultRule = () => undefined;
  /** Every request since the last {@link reset}. */
  records: FaultRecord[] = [];
  /** Keep at most this many records (the nemesis runs for minutes). */
  maxRecords = 10_000;
  port = 0;

  constructor(
    private readonly targetPort: number,
    readonly service = 'storage',
    private readonly targetHost = '127.0.0.1',
  ) {
    this.#server = http.createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 60_000;
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  reset(): void {
    this.records = [];
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const comp = /[?&]comp=([^&]+)/.exec(url)?.[1];
    const leaseAction = req.headers['x-ms-lease-action'];
    const request: FaultRequest = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      leaseAction: typeof leaseAction === 'string' ? leaseAction : undefined,
      comp,
      service: this.service,
    };
    const action = this.rule(request) ?? { kind: 'forward' };
    const record: FaultRecord = { at: Date.now(), request, action: action.kind, status: undefined };
    if (this.records.length < this.maxRecords) this.records.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      switch (action.kind) {
        case 'forward':
          this.#forward(req, body, res, record, false);
          return;
        case 'delay': {
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#forward(req, body, res, record, false);
          }, action.ms);
          this.#timers.add(timer);
          return;
        }
        case 'drop-reply':
          this.#forward(req, body, res, record, true);
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'respond': {
          record.status = action.status;
          const json = this.service === 'table';
          const payload = json
            ? JSON.stringify({
                'odata.error': {
                  code: action.errorCode,
                  message: { lang: 'en-US', value: action.errorCode },
                },
              })
            : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${action.errorCode}</Code><Message>${action.errorCode}</Message></Error>`;
          res.writeHead(action.status, {
            'content-type': json ? 'application/json' : 'application/xml',
            'x-ms-error-code': action.errorCode,
            'x-ms-request-id': `fault-${Date.now()}`,
            date: new Date().toUTCString(),
            ...action.headers,
          });
          res.end(payload);
          return;
        }
      }
    });
  }

  #forward(
    req: http.IncomingMessage,
    body: Buffer,
    res: http.ServerResponse,
    record: FaultRecord,
    dropReply: boolean,
  ): void {
    const upstream = http.request(
      {
        host: this.targetHost,
        port: this.targetPort,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'content-length': String(body.length) },
        agent: this.#agent,
      },
      (answer) => {
        record.status = answer.statusCode;
        if (dropReply) {
          // The server has committed; the client never hears it.
          answer.resume();
          answer.on('end', () => res.destroy());
          return;
        }
        if (res.destroyed) {
          answer.resume();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }
}

/** A blob + table fault proxy pair and a connection string through them. */
export interface StorageFaultProxies {
  blob: StorageFaultProxy;
  table: StorageFaultProxy;
  connectionString: string;
  /** Sets one rule on both. */
  setRule(rule: FaultRule): void;
  close(): Promise<void>;
}

/** Starts a blob + table fault proxy pair in front of Azurite. */
export async function storageFaultProxies(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
): Promise<StorageFaultProxies> {
  const blob = await new StorageFaultProxy(azurite.blobPort, 'blob').listen();
  const table = await new StorageFaultProxy(azurite.tablePort, 'table').listen();
  return {
    blob,
    table,
    connectionString: connectionStringFor(
      `http://127.0.0.1:${blob.port}/devstoreaccount1`,
      `http://127.0.0.1:${table.port}/devstoreaccount1`,
    ),
    setRule(rule) {
      blob.rule = rule;
      table.rule = rule;
    },
    close: async () => {
      await Promise.all([blob.close(), table.close()]);
    },
  };
}
