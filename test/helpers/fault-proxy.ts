import net from 'node:net';

/** What the proxy does to traffic right now. */
export type ProxyMode =
  { kind: 'pass' } | { kind: 'latency'; ms: number } | { kind: 'drop' } | { kind: 'blackhole' };

/**
 * A TCP proxy between one node and storage, for fault tests: pass, add latency, drop every
 * connection (refuse-like), or blackhole (accept and never answer, like a partition).
 */
export class FaultProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #mode: ProxyMode = { kind: 'pass' };
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.#server = net.createServer((client) => this.#accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  setMode(mode: ProxyMode): void {
    this.#mode = mode;
    if (mode.kind === 'drop' || mode.kind === 'blackhole') {
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    const mode = this.#mode;
    if (mode.kind === 'drop') {
      client.destroy();
      return;
    }
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    if (mode.kind === 'blackhole') return;
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.#sockets.add(upstream);
    upstream.on('close', () => {
      this.#sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    const forward = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk) => {
        const current = this.#mode;
        if (current.kind === 'blackhole' || current.kind === 'drop') return;
        if (current.kind === 'latency') setTimeout(() => to.write(chunk), current.ms);
        else to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  }
}
