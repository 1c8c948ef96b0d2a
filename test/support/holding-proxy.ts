import net from 'node:net';

/** Options of {@link HoldingProxy}. */
export interface HoldingProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Share of requests held, 0–1. @default 0 */
  holdProbability?: number;
  /** Shortest hold. @default 6000 */
  holdMinMs?: number;
  /** Longest hold. @default 15000 */
  holdMaxMs?: number;
  /** Source of randomness in [0, 1); pin it to replay a run. @default Math.random */
  random?: () => number;
}

/** What a {@link HoldingProxy} did. */
export interface HoldingProxyStats {
  requests: number;
  held: number;
  /** Held requests whose client had already given up when they were forwarded. */
  forwardedAfterClientLeft: number;
}

/**
 * A TCP proxy to storage that holds a share of requests for a while and then forwards them
 * anyway, even when the client has timed out and closed its connection: the brownout in which a
 * storage front end queues a request past the caller's deadline and still commits it.
 *
 * It sees bytes, not HTTP: a request starts with the first bytes the client sends after the last
 * response bytes on that connection (the SDK sends one request at a time per connection).
 *
 * @example
 * ```ts
 * const proxy = new HoldingProxy({ targetHost: '127.0.0.1', targetPort: 10002, holdProbability: 0.35 });
 * const port = await proxy.listen();
 * // … connect a client to http://127.0.0.1:<port>/devstoreaccount1
 * await proxy.close();
 * ```
 */
export class HoldingProxy {
  readonly stats: HoldingProxyStats = { requests: 0, held: 0, forwardedAfterClientLeft: 0 };
  readonly #options: Required<HoldingProxyOptions>;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  port = 0;

  constructor(options: HoldingProxyOptions) {
    this.#options = {
      holdProbability: 0,
      holdMinMs: 6000,
      holdMaxMs: 15_000,
      random: Math.random,
      ...options,
    };
    this.#server = net.createServer((client) => this.#accept(client));
  }

  /** The share of new requests held from now on. */
  set holdProbability(value: number) {
    this.#options.holdProbability = value;
  }

  /** Starts listening on 127.0.0.1; resolves with the port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Drops every connection and held request, and stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #accept(client: net.Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    const { targetHost, targetPort, random } = this.#options;
    const upstream = net.connect(targetPort, targetHost);
    this.#track(client);
    this.#track(upstream);
    let startsRequest = true;
    let clientGone = false;
    let holdUntil = 0;
    const held: Buffer[] = [];
    const flush = (): void => {
      if (upstream.destroyed) return;
      if (clientGone) this.stats.forwardedAfterClientLeft++;
      for (const chunk of held.splice(0)) upstream.write(chunk);
      // Nobody waits for the answer: close once the server has had time to commit and reply.
      if (clientGone) this.#later(() => upstream.destroy(), 5000);
    };
    client.on('data', (chunk: Buffer) => {
      if (startsRequest) {
        startsRequest = false;
        this.stats.requests++;
        if (random() < this.#options.holdProbability) {
          this.stats.held++;
          const { holdMinMs, holdMaxMs } = this.#options;
          const holdMs = holdMinMs + (holdMaxMs - holdMinMs) * random();
          holdUntil = Date.now() + holdMs;
          this.#later(flush, holdMs);
        }
      }
      if (held.length > 0 || Date.now() < holdUntil) held.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      startsRequest = true;
      if (!client.destroyed) client.write(chunk);
    });
    // A client that gives up closes its socket; a held request is still forwarded (the point).
    client.on('close', () => {
      clientGone = true;
      if (held.length === 0) upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  }

  #later(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }
}
