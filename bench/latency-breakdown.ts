/**
 * Where acks=all produce latency goes, stage by stage, at fixed open-loop rates: the broker's
 * own request metrics (its `/metrics/requests` histograms, read before and after each rate)
 * beside the client's send-to-acknowledgement latency, and a raw 4 KiB write + fdatasync probe
 * on the same disk run right before, the floor the sync stage stands on.
 *
 *   node dist/main.js &                                   # metrics.listener defaults to :9644
 *   node dist-bench/bench/latency-breakdown.js --bootstrap 127.0.0.1:9092 --metrics http://127.0.0.1:9644 --rates 10000,20000
 *
 * Stages (src/main/request-metrics.ts): requestQueue, local, queued (waiting for a group-commit
 * round), sync (the fdatasync round), remote (waiting for the ISR), responseQueue,
 * responseSend, total. Each stage's percentiles are of that stage alone: they do not add up
 * to the total's, and the mean column does.
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { HISTOGRAM_SLOTS, LogHistogram } from '../src/shared/metrics/log-histogram.js';
import { keyValues, numberList } from './lib/args.js';
import { parseBootstrap } from './lib/cluster.js';
import { fsyncProbe } from './lib/fsync-probe.js';
import { LATENCY_HEADERS, latencyCells, runLatencyCase } from './lib/latency-cases.js';
import { pidListeningOn } from './lib/process-cpu.js';
import { plainTable } from './lib/table.js';
import { recordsPerBatch } from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    bootstrap: { type: 'string', default: '127.0.0.1:9092' },
    metrics: { type: 'string', default: 'http://127.0.0.1:9644' },
    rates: { type: 'string', default: '10000,20000' },
    'record-size': { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '6' },
    'batch-bytes': { type: 'string', default: '16384' },
    connections: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    drain: { type: 'string', default: '10' },
    'replication-factor': { type: 'string', default: '1' },
    'topic-config': { type: 'string', default: '' },
    'probe-dir': { type: 'string', default: tmpdir() },
    'probe-count': { type: 'string', default: '500' },
  },
});

const STAGES = ['requestQueue', 'local', 'queued', 'sync', 'remote', 'responseQueue', 'responseSend', 'total'];

type Snapshot = Record<string, Record<string, number[]>>;

async function snapshot(): Promise<Snapshot> {
  const res = await fetch(`${v.metrics}/metrics/requests`);
  if (!res.ok) throw new Error(`${v.metrics}/metrics/requests answered ${res.status}`);
  return (await res.json()) as Snapshot;
}

function histogramOf(slots: number[] | undefined): LogHistogram {
  const h = new LogHistogram();
  if (slots && slots.length === HISTOGRAM_SLOTS) h.slots.set(slots);
  return h;
}

const bootstrap = v.bootstrap!;
const recordSize = Number(v['record-size']);
const settings = {
  bootstrap,
  brokerPids: parseBootstrap(bootstrap).map((a) => pidListeningOn(a.port)).filter((p): p is number => p !== null),
  recordSize,
  partitions: Number(v.partitions),
  recordsPerBatch: recordsPerBatch(Number(v['batch-bytes']), recordSize),
  connectionsPerBroker: Number(v.connections),
  threads: 1,
  warmupMs: Number(v.warmup) * 1000,
  durationMs: Number(v.duration) * 1000,
  drainMs: Number(v.drain) * 1000,
  replicationFactor: Number(v['replication-factor']),
  topicConfigs: keyValues(v['topic-config']!),
  topicPrefix: 'bench-breakdown',
};
console.log(`bootstrap ${bootstrap}, metrics ${v.metrics}: acks=all, ${recordSize} B records, ${settings.recordsPerBatch} per batch, ` +
  `${settings.partitions} partitions, replication factor ${settings.replicationFactor}, ${v.warmup} s warm-up + ${v.duration} s per rate (broker stages include the warm-up)`);

for (const rate of numberList(v.rates!)) {
  const probe = fsyncProbe(v['probe-dir']!, Number(v['probe-count']));
  const before = await snapshot();
  const row = await runLatencyCase(rate, settings);
  const after = await snapshot();
  console.log(`\nrate ${rate} rec/s; raw 4 KiB write+fdatasync in ${v['probe-dir']}: p50 ${probe.p50.toFixed(3)} ms, p99 ${probe.p99.toFixed(3)} ms`);
  console.log(plainTable(LATENCY_HEADERS, [latencyCells(row)]));
  const rows = STAGES.map((stage) => {
    const h = histogramOf(after.Produce?.[stage]).since(histogramOf(before.Produce?.[stage]));
    const ms = (us: number) => us / 1000;
    return [stage, h.count, ms(h.count ? h.sum / h.count : 0), ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(h.quantile(0.999))];
  });
  console.log(plainTable(['Produce stage', 'requests', 'mean ms', 'p50 ms', 'p99 ms', 'p99.9 ms'], rows));
}
