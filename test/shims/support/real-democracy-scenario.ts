// The scenario on the real democracy over UDP loopback; prints the observation and exits (democracy
// has no way to close its socket and intervals).
import { createRequire } from 'node:module';
import { IDS, runDemocracyScenario, type DemocracyLike } from '../democracy-scenario.js';

const require = createRequire(import.meta.url);
const RealDemocracy = require('democracy') as new (options: Record<string, unknown>) => DemocracyLike;
const [portA, portB] = [process.env['PORT_A'], process.env['PORT_B']];
const interval = Number(process.env['INTERVAL_MS']);
const source = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };

const observation = await runDemocracyScenario(
  (name, weight) =>
    new RealDemocracy({
      id: IDS[name],
      weight,
      interval,
      source: source[name],
      peers: [source.a, source.b],
    }),
  interval,
);
process.stdout.write(`${JSON.stringify(observation)}\n`);
process.exit(0);
