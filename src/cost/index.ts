export {
  transactionsPerNodeHour,
  estimateCost,
  runtimeCostTimings,
  resolveCostTimings,
  DEFAULT_REPLICA_COUNTS,
} from './cost-model.js';
export type { CostTimings, ResolvedCostTimings, CostEstimate, NodeHourTransactions } from './cost-model.js';
export { DEFAULT_PRICES } from './prices.js';
export type { TransactionPrices } from './prices.js';
