import type http from 'node:http';
import { pipeAnswer, ProxyServer, proxyPair, type ProxyPair } from './proxy-server.js';

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
export class CountingProxy extends ProxyServer<ProxiedRequest> {
  #dropping = false;
  /** Called for each answered request, e.g. to timestamp lease renewals. */
  onAnswered: ((request: ProxiedRequest) => void) | undefined;

  /** Refuse (`true`) or forward (`false`) traffic from now on. */
  setDropping(dropping: boolean): void {
    this.#dropping = dropping;
    if (dropping) this.closeIdleConnections();
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
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
    this.sendUpstream(req, res, undefined, (answer) => {
      record.answeredAt = Date.now();
      record.status = answer.statusCode;
      const errorCode = answer.headers['x-ms-error-code'];
      record.errorCode = typeof errorCode === 'string' ? errorCode : undefined;
      this.onAnswered?.(record);
      pipeAnswer(answer, res);
    });
  }
}

/** Two counting proxies (blob and table) and a connection string that routes through them. */
export type StorageProxies = ProxyPair<CountingProxy>;

/** Starts a blob + table proxy pair in front of an Azurite instance. */
export function proxyStorage(
  azurite: { blobPort: number; tablePort: number },
  connectionStringFor: (blobEndpoint: string, tableEndpoint: string) => string,
): Promise<StorageProxies> {
  return proxyPair(azurite, connectionStringFor, (port) => new CountingProxy(port));
}
