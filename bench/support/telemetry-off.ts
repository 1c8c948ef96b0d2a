/**
 * The telemetry module with every hook emptied: what the runtime would be without instrumentation.
 * bench/telemetry-ab.ts bundles the same workload twice, once with src/telemetry and once with this
 * file in its place, so the only difference between the two is the hooks' calls into
 * `@opentelemetry/api` with no SDK registered. The types are the real module's, so this file stops
 * compiling if a hook is added or changes shape.
 */
import type * as real from '../../src/telemetry/index.js';

export {
  INSTRUMENTS,
  ATTR_CLUSTER,
  ATTR_NODE,
  prometheusSeriesNames,
} from '../../src/telemetry/instruments.js';
export { TRACE_CONTEXT_PROPERTY } from '../../src/telemetry/telemetry.js';

const nothing = (): void => undefined;

export const leaseTelemetry: typeof real.leaseTelemetry = () => ({
  call: nothing,
  termStarted: nothing,
  demoted: nothing,
  close: nothing,
});

export const membershipTelemetry: typeof real.membershipTelemetry = () => nothing;

export const busTelemetry: typeof real.busTelemetry = () => ({
  publish: () => undefined,
  deliver: () => nothing,
  close: nothing,
});

export const singletonTelemetry: typeof real.singletonTelemetry = () => ({
  run: async (_info, job) => await job(),
  fenced: nothing,
});

export const observeStorageTransactions: typeof real.observeStorageTransactions = () => nothing;
