export { transactionsPerNodeHour, estimateCost } from './cost-model.js';
export type { CostTimings, CostEstimate, NodeHourTransactions } from './cost-model.js';
export { DEFAULT_PRICES } from './prices.js';
export type { TransactionPrices } from './prices.js';
