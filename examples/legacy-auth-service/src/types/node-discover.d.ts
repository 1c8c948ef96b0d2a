// node-discover ships no types; this is the subset we use.
declare module 'node-discover' {
  import { EventEmitter } from 'node:events';

  interface DiscoverOptions {
    helloInterval?: number;
    checkInterval?: number;
    nodeTimeout?: number;
    masterTimeout?: number;
    address?: string;
    port?: number;
    broadcast?: string;
    multicast?: string;
    multicastTTL?: number;
    key?: string;
    mastersRequired?: number;
    weight?: number;
    client?: boolean;
    reuseAddr?: boolean;
    advertisement?: unknown;
  }

  interface Discover extends EventEmitter {
    me: { isMaster: boolean; advertisement?: unknown };
    join(channel: string, handler: (data: any) => void): boolean;
    send(channel: string, data: unknown): boolean;
    advertise(data: unknown): void;
    stop(): void;
  }

  function Discover(
    options?: DiscoverOptions,
    callback?: (error: Error | null, started?: boolean) => void,
  ): Discover;
  export = Discover;
}
