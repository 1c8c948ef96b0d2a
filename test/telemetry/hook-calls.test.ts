import {
  context,
  createNoopMeter,
  INVALID_SPAN_CONTEXT,
  metrics,
  propagation,
  trace,
  type ContextManager,
  type MeterProvider,
  type Span,
  type TextMapPropagator,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrdtRateLimiter } from '../../shims/crdt-rate-limiter/index.js';
import { detachedBusTelemetry } from '../support/detached-bus-telemetry.js';
import { testStorage, uniqueName } from '../helpers/storage.js';

// Every call into the OpenTelemetry API's registered parts is counted: meters and what they make,
// the tracer, the context manager and the propagator. The budget "under 2 % of decisions/s" for
// the limiter rests on its decision path making no such call; this shows it, where a timed
// benchmark could not tell 0 % from its own noise.
let calls = 0;
function counted<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        return result !== null && typeof result === 'object' && !(result instanceof Promise)
          ? counted(result)
          : result;
      };
    },
  });
}

const nonRecording = (): Span => trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
const tracerProvider: TracerProvider = {
  getTracer: () => ({
    startSpan: nonRecording,
    startActiveSpan: (...args: unknown[]) => (args.at(-1) as (span: Span) => unknown)(nonRecording()),
  }),
} as unknown as TracerProvider;
const meterProvider: MeterProvider = { getMeter: () => createNoopMeter() };

beforeAll(() => {
  context.setGlobalContextManager(counted<ContextManager>(new AsyncLocalStorageContextManager().enable()));
  propagation.setGlobalPropagator(counted<TextMapPropagator>(new W3CTraceContextPropagator()));
  trace.setGlobalTracerProvider(counted(tracerProvider));
  metrics.setGlobalMeterProvider(counted(meterProvider));
});
afterAll(() => {
  metrics.disable();
  trace.disable();
  propagation.disable();
  context.disable();
});

describe('calls into the OpenTelemetry API on hot paths', () => {
  it("the limiter's decision path makes none: 20,000 decisions, 0 calls", async () => {
    const limiter = new CrdtRateLimiter({
      limit: 1e9,
      windowMs: 60_000,
      nodeId: 'n0',
      gossipless: { cluster: uniqueName('hooks'), storage: testStorage(), tablePrefix: 'shimtest' },
    });
    try {
      await limiter.ready();
      // The counting works: the limiter's cluster made its instruments through the counted meter.
      expect(calls).toBeGreaterThan(0);
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      // One synchronous turn: no background timer (heartbeat, sync, poll) can run in between.
      const before = calls;
      for (let i = 0; i < 10_000; i++) limiter.tryConsume(keys[i % 100]!);
      for (let i = 0; i < 10_000; i++) limiter.consume(keys[i % 100]!, 1);
      expect(calls - before).toBe(0);
    } finally {
      await limiter.stop();
    }
  });

  it('a bus message makes a fixed handful: publish 3, delivery 3, whatever the traffic', () => {
    const bus = detachedBusTelemetry('n');
    const message = { channel: 'orders', id: 'm1', from: 'n', publishedAt: Date.now() };
    const perMessage = (): { publish: number; deliver: number } => {
      let before = calls;
      bus.publish('orders')?.end();
      const publish = calls - before;
      before = calls;
      bus.deliver(message, undefined, Date.now())(false);
      return { publish, deliver: calls - before };
    };
    perMessage(); // the first call resolves the tracer's delegate once
    // publish: the active context, the span, its context (invalid: nothing is stored with the
    // row); delivery: the latency histogram, the span, whether it records.
    expect(perMessage()).toEqual({ publish: 3, deliver: 3 });
    for (let i = 0; i < 100; i++) perMessage();
    expect(perMessage()).toEqual({ publish: 3, deliver: 3 });
    bus.close();
  });
});
