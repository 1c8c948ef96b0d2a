import { GossiplessError } from '../errors/index.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/**
 * A node id unique per process incarnation: host, pid and a random suffix, so a restarted
 * process never reuses its predecessor's member row or lease id.
 */
export function defaultNodeId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9-]/g, '-')
      .slice(0, 40) || 'node';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Node ids go into table keys and blob metadata: letters, digits, `.`, `_`, `-`; at most 100. */
export function isValidNodeId(nodeId: string): boolean {
  return NODE_ID_PATTERN.test(nodeId);
}

const CLUSTER_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Cluster names appear in blob paths and partition keys: lowercase letters, digits, `-`; at most 63. */
export function isValidClusterName(cluster: string): boolean {
  return CLUSTER_PATTERN.test(cluster);
}

/**
 * Validates what every cluster part needs — storage, a cluster name, a node id — and returns the
 * node id (the default one when none was given). Errors name the input and the rule.
 */
export function resolveNodeIdentity(options: { storage?: unknown; cluster?: string; nodeId?: string }): {
  cluster: string;
  nodeId: string;
} {
  if (!options?.storage) {
    throw new GossiplessError('INVALID_OPTIONS', 'storage is required: pass connectStorage(...)');
  }
  if (!isValidClusterName(options.cluster ?? '')) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `cluster "${String(options.cluster)}" must be 1–63 lowercase letters, digits or '-'`,
    );
  }
  const nodeId = options.nodeId ?? defaultNodeId();
  if (!isValidNodeId(nodeId)) {
    throw new GossiplessError(
      'INVALID_OPTIONS',
      `nodeId "${nodeId}" must be 1–100 letters, digits, '.', '_' or '-'`,
    );
  }
  return { cluster: options.cluster!, nodeId };
}
