export { GossiplessError, isGossiplessError } from './gossipless-error.js';
export type { GossiplessErrorCode, GossiplessErrorOptions } from './gossipless-error.js';
// Every message passes through one redaction helper: it travels with the errors, so the toolkit can
// load both from `@gossipless/runtime/errors` without the Azure SDK.
export { redact, redactUnknown } from '../redact/index.js';
