import { GossiplessError } from '@gossipless/runtime/errors';

/** Commander argument parser for counts and durations: a whole number ≥ 1. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new GossiplessError('INVALID_OPTIONS', `"${value}" is not a whole number ≥ 1`);
  }
  return n;
}

/** Commander argument parser for TCP ports (0 lets the system choose). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new GossiplessError('INVALID_OPTIONS', `port "${value}" is not a port number (0–65535)`);
  }
  return port;
}
