export { TableBus } from './table-bus.js';
export type { TableBusOptions, TableBusStats, TableBusEvents, BusHandler } from './table-bus.js';
export { MAX_PAYLOAD_BYTES, messageRowKey, parseBusRow, timeOfRowKey } from './bus-message.js';
export type { BusMessage } from './bus-message.js';
export { busTableName, odataString, DEFAULT_TABLE_PREFIX } from './table-name.js';
