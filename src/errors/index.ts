export { GossiplessError, isGossiplessError } from './gossipless-error.js';
export type { GossiplessErrorCode, GossiplessErrorOptions } from './gossipless-error.js';
