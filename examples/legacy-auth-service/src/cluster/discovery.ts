import Discover from 'node-discover';
import { log } from '../log.js';

export interface ClusterHandle {
  isMaster(): boolean;
  announce(event: Record<string, unknown>): void;
  onJobEvent(handler: (event: Record<string, unknown>) => void): void;
  stop(): void;
}

// Replicas find each other by multicast on the office LAN and elect a master among themselves.
export function startDiscovery(replicaId: string, port: number): ClusterHandle {
  let discoveryEnabled = true;
  let isMaster = false;

  const discover = Discover(
    {
      multicast: '239.255.42.99',
      multicastTTL: 1,
      port,
      key: 'auth-service-cluster',
      helloInterval: 500,
      checkInterval: 1000,
      nodeTimeout: 3000,
      masterTimeout: 3000,
      advertisement: { service: 'auth', replicaId },
    },
    (error) => {
      if (error) {
        // No multicast here (dev laptop, CI): run on our own.
        log.debug(`discovery unavailable, running standalone: ${error.message}`);
        discoveryEnabled = false;
        isMaster = true;
      }
    },
  );

  discover.on('error', (error: Error) => {
    // The multicast join fails on networks without a multicast route: carry on alone.
    log.debug(`discovery error, switching discovery off: ${error.message}`);
    discoveryEnabled = false;
    isMaster = true;
  });

  discover.on('promotion', () => {
    isMaster = true;
    log.info('promoted to master');
  });
  discover.on('demotion', () => {
    isMaster = false;
    log.info('demoted');
  });

  return {
    isMaster: () => isMaster,
    announce: (event) => {
      if (discoveryEnabled) discover.send('job-events', event);
    },
    onJobEvent: (handler) => {
      discover.join('job-events', handler);
    },
    stop: () => discover.stop(),
  };
}
