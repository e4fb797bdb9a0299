/**
 * acks=all latency at fixed rates, open loop (sends are scheduled, so a slow broker cannot
 * slow the clock): for each rate, latency from send to acknowledgement in an HDR histogram
 * that keeps every sample, printed as p50/p99/p99.9/max, and one SVG plot of latency
 * against percentile with a line per rate. Flags: bench/README.md.
 *
 *   node dist-bench/bench/acks-all.js --bootstrap 127.0.0.1:9092 --rates 10000,20000,40000
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { keyValues, numberList } from './lib/args.js';
import { parseBootstrap } from './lib/cluster.js';
import { LATENCY_HEADERS, latencyCells, runLatencyCase, type LatencyRow } from './lib/latency-cases.js';
import { latencyPlotSvg } from './lib/latency-plot.js';
import { pidListeningOn } from './lib/process-cpu.js';
import { plainTable } from './lib/table.js';
import { recordsPerBatch } from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    rates: { type: 'string', default: '5000,10000,20000,40000' },
    'record-size': { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '6' },
    'batch-bytes': { type: 'string', default: '16384' },
    connections: { type: 'string', default: '4' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    drain: { type: 'string', default: '10' },
    'replication-factor': { type: 'string', default: '1' },
    'topic-config': { type: 'string', default: '' },
    'broker-pid': { type: 'string', default: '' },
    label: { type: 'string', default: '' },
    plot: { type: 'string', default: 'bench/results/acks-all.svg' },
  },
});

const bootstrap = v.bootstrap!;
const pids = v['broker-pid'] ? numberList(v['broker-pid']) : parseBootstrap(bootstrap).map((a) => pidListeningOn(a.port)).filter((p): p is number => p !== null);
const recordSize = Number(v['record-size']);
const settings = {
  bootstrap,
  brokerPids: pids,
  recordSize,
  partitions: Number(v.partitions),
  recordsPerBatch: recordsPerBatch(Number(v['batch-bytes']), recordSize),
  connectionsPerBroker: Number(v.connections),
  threads: Number(v.threads),
  warmupMs: Number(v.warmup) * 1000,
  durationMs: Number(v.duration) * 1000,
  drainMs: Number(v.drain) * 1000,
  replicationFactor: Number(v['replication-factor']),
  topicConfigs: keyValues(v['topic-config']!),
  topicPrefix: 'bench-acksall',
};
console.log(`bootstrap ${bootstrap}: acks=all, ${recordSize} B records, ${settings.recordsPerBatch} per batch (one batch per request), ` +
  `${settings.partitions} partitions, replication factor ${settings.replicationFactor}, ${settings.connectionsPerBroker} connections per broker, ` +
  `${v.warmup} s warm-up + ${v.duration} s measured per rate; latency from write to acknowledgement ("sched": from the scheduled send time)`);
const rows: LatencyRow[] = [];
for (const rate of numberList(v.rates!)) {
  const row = await runLatencyCase(rate, settings);
  rows.push(row);
  console.error(plainTable(LATENCY_HEADERS, [latencyCells(row)]).split('\n')[1]);
}
console.log(plainTable(LATENCY_HEADERS, rows.map(latencyCells)));
const label = v.label || bootstrap;
mkdirSync(dirname(v.plot!), { recursive: true });
writeFileSync(v.plot!, latencyPlotSvg(`acks=all latency, ${label}, ${recordSize} B x ${settings.recordsPerBatch} per request`,
  rows.flatMap((r) => (r.report.latency ? [{ label: `${Math.round(r.rate).toLocaleString('en-US')} rec/s`, histogram: r.report.latency }] : []))));
console.log(`plot: ${v.plot}`);
