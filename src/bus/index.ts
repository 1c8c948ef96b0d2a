export { TableBus } from './table-bus.js';
export type { TableBusOptions, TableBusStats, TableBusEvents, BusHandler } from './table-bus.js';
export { MAX_PAYLOAD_BYTES, messageRowKey, parseBusRow, timeOfRowKey } from './bus-message.js';
export type { BusMessage } from './bus-message.js';
export { MAX_DEAD_LETTER_ERROR_CHARS, parseDeadLetterRow } from './dead-letter.js';
export type { DeadLetter } from './dead-letter.js';
export { resolveRedeliveryOptions } from './redelivery.js';
export type { RedeliveryOptions, ResolvedRedeliveryOptions } from './redelivery.js';
