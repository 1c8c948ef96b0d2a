export { redact, redactUnknown } from './redact.js';
