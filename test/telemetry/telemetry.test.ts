import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../src/cluster/index.js';
import { INSTRUMENTS, observeStorageTransactions } from '../../src/telemetry/index.js';
import { testCluster } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/storage.js';
import { waitFor } from '../helpers/wait-for.js';

// A real OpenTelemetry SDK, registered before the nodes are created (as an application does).
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [reader] });
const spanExporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });

const cluster = uniqueName('tel');
const nodes: Cluster[] = [];

async function collect(): Promise<MetricData[]> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

function points(all: MetricData[], name: string) {
  const metric = all.find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as Array<{ attributes: Record<string, unknown>; value: unknown }>;
}

function valueOf(all: MetricData[], name: string, attributes: Record<string, unknown>): unknown {
  return points(all, name).find((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
    ?.value;
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  // The suspect gauge is asserted at 0: with the fast 250 ms heartbeat a busy machine's late
  // beat made the peer suspect for a moment (CI, every core busy), so suspicion waits 5 s here.
  const membership = { heartbeatIntervalMs: 250, memberTtlMs: 10_000, suspectAfterMs: 5_000 };
  for (const nodeId of ['t1', 't2']) nodes.push(testCluster({ cluster, nodeId, membership }));
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(
    () => nodes.some((n) => n.isLeader) && nodes.every((n) => n.members().length === 2),
    15_000,
    'a settled cluster',
  );
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  metrics.disable();
  trace.disable();
  propagation.disable();
  context.disable();
});

describe('telemetry through a registered OpenTelemetry SDK', () => {
  it('exports leader status and epoch, lease call durations, terms and membership per node', async () => {
    const leader = nodes.find((n) => n.isLeader)!;
    const follower = nodes.find((n) => !n.isLeader)!;
    const all = await collect();
    const node = (n: Cluster) => ({ 'gossipless.cluster': cluster, 'gossipless.node': n.nodeId });
    expect(valueOf(all, INSTRUMENTS.leaderStatus.name, node(leader))).toBe(1);
    expect(valueOf(all, INSTRUMENTS.leaderStatus.name, node(follower))).toBe(0);
    expect(valueOf(all, INSTRUMENTS.leaderEpoch.name, node(leader))).toBe(1);
    expect(valueOf(all, INSTRUMENTS.leaseTerms.name, node(leader))).toBe(1);
    expect(valueOf(all, INSTRUMENTS.membershipMembers.name, node(follower))).toBe(2);
    expect(valueOf(all, INSTRUMENTS.membershipSuspects.name, node(follower))).toBe(0);
    const acquired = valueOf(all, INSTRUMENTS.leaseOperationDuration.name, {
      ...node(leader),
      'gossipless.lease.operation': 'acquire',
      'gossipless.outcome': 'ok',
    }) as { count: number };
    expect(acquired.count).toBe(1);
    const age = valueOf(all, INSTRUMENTS.leaseRenewalAge.name, node(leader)) as number;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(13);
    expect(valueOf(all, INSTRUMENTS.leaseRenewalDeadline.name, node(leader))).toBe(13);
    expect(valueOf(all, INSTRUMENTS.leaseRenewalAge.name, node(follower))).toBeUndefined();
    const metricNames = new Set(all.map((m) => m.descriptor.name));
    for (const spec of Object.values(INSTRUMENTS)) {
      // Recorded instruments appear with their first recording; observable ones (storage
      // transactions included: every cluster observes its connection's counter) at once.
      if (!spec.kind.startsWith('observable')) continue;
      expect(metricNames, spec.name).toContain(spec.name);
    }
    const kinds = Object.fromEntries(all.map((m) => [m.descriptor.name, m.dataPointType]));
    expect(kinds[INSTRUMENTS.leaseOperationDuration.name]).toBe(DataPointType.HISTOGRAM);
  });

  it('traces a publish and links the delivery to it through the row, and counts the delivery latency', async () => {
    const [a, b] = nodes as [Cluster, Cluster];
    const received: string[] = [];
    b.subscribe('orders', (m) => void received.push(m.id));
    await new Promise((r) => setTimeout(r, 300));
    const tracer = trace.getTracer('test');
    const id = await tracer.startActiveSpan('checkout', async (span) => {
      try {
        return await a.publish('orders', { n: 1 });
      } finally {
        span.end();
      }
    });
    await waitFor(() => received.includes(id), 10_000, 'the delivery');
    await waitFor(
      () => spanExporter.getFinishedSpans().some((s) => s.name === 'process orders'),
      5_000,
      'the consumer span',
    );
    const spans = spanExporter.getFinishedSpans();
    const checkout = spans.find((s) => s.name === 'checkout')!;
    const publish = spans.find((s) => s.name === 'publish orders')!;
    const processed = spans.find((s) => s.name === 'process orders')!;
    expect(publish.spanContext().traceId).toBe(checkout.spanContext().traceId);
    expect(publish.parentSpanContext?.spanId).toBe(checkout.spanContext().spanId);
    expect(processed.links.map((l) => l.context.spanId)).toEqual([publish.spanContext().spanId]);
    expect(processed.attributes['messaging.message.id']).toBe(id);
    const all = await collect();
    const latency = valueOf(all, INSTRUMENTS.busDeliveryLatency.name, {
      'gossipless.node': b.nodeId,
      'gossipless.bus.channel': 'orders',
    }) as { count: number; sum: number };
    expect(latency.count).toBe(1);
    expect(latency.sum).toBeLessThan(30);
    expect(
      valueOf(all, INSTRUMENTS.busPublished.name, { 'gossipless.node': a.nodeId }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(all, INSTRUMENTS.busDelivered.name, { 'gossipless.node': b.nodeId }),
    ).toBeGreaterThanOrEqual(1);
    const lag = valueOf(all, INSTRUMENTS.busConsumerLag.name, { 'gossipless.node': b.nodeId }) as number;
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(30);
  });

  it('spans and counts each singleton run with name, tick, epoch and outcome, and counts demotions by reason', async () => {
    const leader = nodes.find((n) => n.isLeader)!;
    let ran = 0;
    leader.singleton('sweep', { everyMs: 200 }, () => {
      ran++;
      trace.getTracer('test').startSpan('inside-the-job').end();
    });
    await waitFor(() => ran >= 2, 10_000, 'two singleton runs');
    const spans = spanExporter.getFinishedSpans();
    const run = spans.find((s) => s.name === 'singleton sweep')!;
    expect(run.attributes).toMatchObject({
      'gossipless.singleton.name': 'sweep',
      'gossipless.leader.epoch': leader.epoch,
      'gossipless.outcome': 'ok',
    });
    expect(typeof run.attributes['gossipless.singleton.tick']).toBe('number');
    const inside = spans.find((s) => s.name === 'inside-the-job')!;
    expect(spans.filter((s) => s.name === 'singleton sweep').map((s) => s.spanContext().spanId)).toContain(
      inside.parentSpanContext?.spanId,
    );
    const all = await collect();
    expect(
      valueOf(all, INSTRUMENTS.singletonRuns.name, {
        'gossipless.node': leader.nodeId,
        'gossipless.singleton.name': 'sweep',
        'gossipless.outcome': 'ok',
      }),
    ).toBeGreaterThanOrEqual(2);

    await leader.elector.resign();
    const after = await collect();
    expect(
      valueOf(after, INSTRUMENTS.leaseDemotions.name, {
        'gossipless.node': leader.nodeId,
        'gossipless.reason': 'resigned',
      }),
    ).toBe(1);
    expect(valueOf(after, INSTRUMENTS.leaderStatus.name, { 'gossipless.node': leader.nodeId })).toBe(0);
    const released = valueOf(after, INSTRUMENTS.leaseOperationDuration.name, {
      'gossipless.node': leader.nodeId,
      'gossipless.lease.operation': 'release',
      'gossipless.outcome': 'ok',
    }) as { count: number };
    expect(released.count).toBe(1);
  });

  it("exports each node's storage transactions by kind, as its cluster.transactions() counts them", async () => {
    const follower = nodes.find((n) => !n.isLeader)!;
    const all = await collect();
    const counted = follower.transactions()!;
    const at = (kind: string) => ({
      'gossipless.cluster': cluster,
      'gossipless.node': follower.nodeId,
      'gossipless.storage.kind': kind,
    });
    // Every node campaigns, heartbeats and polls: all three kinds are counted and exported.
    for (const kind of ['lease', 'membership', 'bus-poll']) {
      const exported = valueOf(all, INSTRUMENTS.storageTransactions.name, at(kind)) as number;
      expect(exported, kind).toBeGreaterThan(0);
      // Read after the collection: the counter only grows.
      expect(exported, kind).toBeLessThanOrEqual(follower.transactions()!.byKind[kind as 'lease'].requests);
      expect(valueOf(all, INSTRUMENTS.storageThrottled.name, at(kind)), kind).toBe(0);
    }
    expect(counted.total.requests).toBeGreaterThan(0);
  });

  it('exports a transaction counter’s totals by kind, and stops when removed', async () => {
    const counts = { lease: { requests: 12, throttled: 0 }, 'bus-poll': { requests: 40, throttled: 3 } };
    const remove = observeStorageTransactions({ snapshot: () => counts }, { cluster, nodeId: 'tx' });
    const all = await collect();
    const at = { 'gossipless.node': 'tx', 'gossipless.storage.kind': 'bus-poll' };
    expect(valueOf(all, INSTRUMENTS.storageTransactions.name, at)).toBe(40);
    expect(valueOf(all, INSTRUMENTS.storageThrottled.name, at)).toBe(3);
    expect(
      valueOf(all, INSTRUMENTS.storageTransactions.name, {
        'gossipless.node': 'tx',
        'gossipless.storage.kind': 'lease',
      }),
    ).toBe(12);
    remove();
    counts['bus-poll'].requests = 99;
    const after = await collect();
    expect(valueOf(after, INSTRUMENTS.storageTransactions.name, at)).not.toBe(99);
  });
});
