/**
 * This broker against Apache Kafka in one invocation: starts both (fresh data dirs, loopback
 * ports), runs the same produce-throughput cases and acks=all latency rates against this
 * broker, Kafka with its default flush settings and Kafka with flush.messages=1 (a topic
 * config), alternating the order from case to case, prints each figure side by side with
 * the ratio and writes bench/RESULTS.md. Latency rates are fractions of Kafka's measured
 * acks=all saturation (1 KiB, 6 partitions). Then, Kafka alone: three brokers with
 * replication factor 3 (Kafka only: this broker's cluster is measured with bench/acks-all against
 * three `node dist/main.js`), and the neutral
 * clients check. Flags: bench/README.md.
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/compare.js
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { acksList, numberList } from './lib/args.js';
import { startKafka, startOurs, type RunningBroker } from './lib/brokers.js';
import { createTopic, deleteTopic } from './lib/cluster.js';
import { LATENCY_HEADERS, latencyCells, runLatencyCase, type LatencyRow, type LatencySettings } from './lib/latency-cases.js';
import { latencyPlotSvg } from './lib/latency-plot.js';
import { kcatProduce, producerPerformance, type NeutralCase, type NeutralResult } from './lib/neutral-clients.js';
import { fmt, markdownTable, plainTable, type Cell } from './lib/table.js';
import {
  ackName, recordsPerBatch, runThroughputCase, THROUGHPUT_HEADERS, throughputCells,
  type ThroughputCase, type ThroughputRow, type ThroughputSettings,
} from './lib/throughput-cases.js';

const { values: v } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'record-sizes': { type: 'string', default: '100,1024' },
    partitions: { type: 'string', default: '1,6,24' },
    acks: { type: 'string', default: '0,1,all' },
    'batch-bytes': { type: 'string', default: '16384' },
    connections: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    'broker-warmup': { type: 'string', default: '8' },
    'latency-fractions': { type: 'string', default: '0.25,0.5,0.75,1' },
    'latency-duration': { type: 'string', default: '5' },
    drain: { type: 'string', default: '10' },
    'three-brokers': { type: 'boolean', default: true },
    'no-three-brokers': { type: 'boolean', default: false },
    neutral: { type: 'boolean', default: true },
    'no-neutral': { type: 'boolean', default: false },
    'our-port': { type: 'string', default: '29192' },
    'kafka-port': { type: 'string', default: '29092' },
    'data-dir': { type: 'string', default: '/tmp/bench-compare' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
    'plots-dir': { type: 'string', default: 'bench/results' },
  },
});

interface Target {
  name: string;
  broker: () => RunningBroker;
  topicConfigs: Record<string, string>;
}

const durationMs = Number(v.duration) * 1000;
const warmupMs = Number(v.warmup) * 1000;
const batchBytes = Number(v['batch-bytes']);
const dataDir = v['data-dir']!;
const plotsDir = v['plots-dir']!;
const startedAt = new Date();
const commandLine = `node dist-bench/bench/compare.js ${process.argv.slice(2).join(' ')}`.trim();
const loadBefore = execSync('cat /proc/loadavg', { encoding: 'utf8' }).trim();
const log = (s: string) => console.log(s);

mkdirSync(dataDir, { recursive: true });
mkdirSync(plotsDir, { recursive: true });
log(`starting this broker on ${v['our-port']} and Kafka on ${v['kafka-port']} (data under ${dataDir})`);
const ours = await startOurs({ port: Number(v['our-port']), dataDir: `${dataDir}/ours`, logFile: `${dataDir}/ours.log`, main: resolve(v['broker-main']!) });
let kafka: RunningBroker | null = null;
try {
  kafka = await startKafka({ brokers: 1, port: Number(v['kafka-port']), dataDir: `${dataDir}/kafka1`, heap: '1g' });
} catch (err) {
  await ours.stop();
  throw err;
}
const kafkaOne = kafka;
const targets: Target[] = [
  { name: 'ours', broker: () => ours, topicConfigs: {} },
  { name: 'Kafka', broker: () => kafkaOne, topicConfigs: {} },
  { name: 'Kafka flush.messages=1', broker: () => kafkaOne, topicConfigs: { 'flush.messages': '1' } },
];

/** Each case visits every target, starting one further along each time. */
function rotated<T>(xs: T[], k: number): T[] {
  return xs.map((_, i) => xs[(i + k) % xs.length]!);
}

function throughputSettings(t: Target, rf = 1, broker = t.broker()): ThroughputSettings {
  return {
    bootstrap: broker.bootstrap,
    brokerPids: broker.pids,
    batchBytes,
    connectionsPerBroker: Number(v.connections),
    inFlight: Number(v['in-flight']),
    threads: Number(v.threads),
    warmupMs,
    durationMs,
    replicationFactor: rf,
    topicConfigs: t.topicConfigs,
    topicPrefix: 'cmp',
  };
}

function latencySettings(t: Target, rf = 1, broker = t.broker()): LatencySettings {
  return {
    bootstrap: broker.bootstrap,
    brokerPids: broker.pids,
    recordSize: 1024,
    partitions: 6,
    recordsPerBatch: recordsPerBatch(batchBytes, 1024),
    connectionsPerBroker: Number(v.connections),
    threads: Number(v.threads),
    warmupMs,
    durationMs: Number(v['latency-duration']) * 1000,
    drainMs: Number(v.drain) * 1000,
    replicationFactor: rf,
    topicConfigs: t.topicConfigs,
    topicPrefix: 'cmp-lat',
  };
}

const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
  a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;
const caseName = (c: ThroughputCase) => `${c.recordSize} B, ${c.partitions} p, acks=${ackName(c.acks)}`;
const sections: string[] = [];

const tput = new Map<string, Map<string, ThroughputRow>>();
const latency = new Map<string, LatencyRow[]>();
let neutral: Array<{ broker: string; result: NeutralResult }> = [];
const threeBroker: { tput: ThroughputRow[]; latency: LatencyRow[]; names: string[] } = { tput: [], latency: [], names: [] };
let saturation = 0;

try {
  // A JVM runs interpreted until its JIT has seen the hot paths: warm both brokers up first.
  log(`warming up each broker: ${v['broker-warmup']} s of 1 KiB acks=1 produce, not counted`);
  for (const t of targets.slice(0, 2)) {
    await runThroughputCase({ recordSize: 1024, partitions: 6, acks: 1 }, { ...throughputSettings(t), warmupMs: 0, durationMs: Number(v['broker-warmup']) * 1000 });
  }

  // Produce throughput, alternating targets.
  const cases: ThroughputCase[] = [];
  for (const recordSize of numberList(v['record-sizes']!)) {
    for (const partitions of numberList(v.partitions!)) {
      for (const acks of acksList(v.acks!)) cases.push({ recordSize, partitions, acks });
    }
  }
  const satCase = { recordSize: 1024, partitions: 6, acks: -1 };
  if (!cases.some((c) => caseName(c) === caseName(satCase))) cases.push(satCase);
  for (const t of targets) tput.set(t.name, new Map());
  log(`\n== produce throughput: ${cases.length} cases x ${targets.length} targets, ${v.warmup} s + ${v.duration} s each`);
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    for (const t of rotated(targets, i)) {
      const row = await runThroughputCase(c, throughputSettings(t));
      tput.get(t.name)!.set(caseName(c), row);
      log(`${caseName(c).padEnd(26)} ${t.name.padEnd(24)} ${fmt(row.report.recordsPerSec).padStart(10)} rec/s ${fmt(row.report.mibPerSec).padStart(7)} MiB/s` +
        `${Object.keys(row.report.errors).length ? `  errors ${JSON.stringify(row.report.errors)}` : ''}`);
    }
  }
  saturation = tput.get('Kafka')!.get(caseName(satCase))!.report.recordsPerSec;

  // acks=all latency at fractions of Kafka's saturation.
  const rates = numberList(v['latency-fractions']!).map((f) => Math.max(100, Math.round((f * saturation) / 100) * 100));
  log(`\n== acks=all latency at ${rates.join(', ')} records/s (fractions ${v['latency-fractions']} of Kafka's ${fmt(saturation)} rec/s)`);
  for (const t of targets) latency.set(t.name, []);
  for (let i = 0; i < rates.length; i++) {
    for (const t of rotated(targets, i)) {
      const row = await runLatencyCase(rates[i]!, latencySettings(t));
      latency.get(t.name)!.push(row);
      log(`${String(rates[i]).padStart(8)} rec/s ${t.name.padEnd(24)} ${plainTable(LATENCY_HEADERS, [latencyCells(row)]).split('\n')[1]}`);
    }
  }

  // Neutral clients against both brokers (1 KiB, 6 partitions, acks=1).
  if (v.neutral && !v['no-neutral']) {
    log('\n== neutral clients: 1 KiB records, 6 partitions, acks=1');
    neutral = [];
    for (const t of targets.slice(0, 2)) {
      const broker = t.broker();
      for (const client of [producerPerformance, kcatProduce]) {
        const topic = `cmp-neutral-${client.name}-${Date.now()}`;
        await createTopic(broker.bootstrap, topic, 6, 1);
        const nc: NeutralCase = { bootstrap: broker.bootstrap, topic, records: client === kcatProduce ? 200_000 : 300_000, recordSize: 1024, acks: 1, batchBytes, lingerMs: 5 };
        try {
          const result = await client(nc);
          neutral.push({ broker: t.name, result });
          log(`${t.name.padEnd(8)} ${result.client.padEnd(20)} ${fmt(result.recordsPerSec)} rec/s`);
        } catch (err) {
          log(`${t.name} ${client.name}: ${(err as Error).message}`);
        }
        await deleteTopic(broker.bootstrap, topic);
      }
    }
  }
} finally {
  await kafkaOne.stop();
}

// Kafka alone: three brokers, replication factor 3.
if (v['three-brokers'] && !v['no-three-brokers']) {
  log('\n== Kafka, three brokers, replication factor 3 (Kafka only in this run)');
  const k3 = await startKafka({ brokers: 3, port: Number(v['kafka-port']) + 10, dataDir: `${dataDir}/kafka3`, heap: '512m' });
  try {
    const k3targets: Target[] = [
      { name: 'Kafka x3', broker: () => k3, topicConfigs: {} },
      { name: 'Kafka x3 flush.messages=1', broker: () => k3, topicConfigs: { 'flush.messages': '1' } },
    ];
    for (const t of k3targets) {
      threeBroker.names.push(t.name);
      const row = await runThroughputCase({ recordSize: 1024, partitions: 6, acks: -1 }, throughputSettings(t, 3));
      threeBroker.tput.push(row);
      log(`${t.name.padEnd(26)} acks=all ${fmt(row.report.recordsPerSec)} rec/s`);
    }
    const rate = Math.max(100, Math.round((0.5 * saturation) / 100) * 100);
    for (const t of k3targets) {
      const row = await runLatencyCase(rate, latencySettings(t, 3));
      threeBroker.latency.push(row);
      log(`${t.name.padEnd(26)} ${plainTable(LATENCY_HEADERS, [latencyCells(row)]).split('\n')[1]}`);
    }
  } finally {
    await k3.stop();
  }
}
await ours.stop();

// Side-by-side tables.
const names = targets.map((t) => t.name);
const tputHeaders = ['case', ...names.map((n) => `${n} MiB/s`), 'ours / Kafka', 'ours / Kafka flush=1', ...names.map((n) => `${n} CPU s/GiB`)];
const tputRows: Cell[][] = [...tput.get('ours')!.keys()].map((k) => {
  const rs = names.map((n) => tput.get(n)!.get(k)!.report);
  return [k, ...rs.map((r) => r.mibPerSec), ratio(rs[0]!.mibPerSec, rs[1]!.mibPerSec), ratio(rs[0]!.mibPerSec, rs[2]!.mibPerSec), ...rs.map((r) => r.brokerCpuSecPerGiB)];
});
const latHeaders = ['rate rec/s', ...names.flatMap((n) => [`${n} p50`, `${n} p99`, `${n} p99.9`, `${n} max`]), 'p99 ours / Kafka', 'p99 ours / Kafka flush=1'];
const latRows: Cell[][] = (latency.get('ours') ?? []).map((_, i) => {
  const hs = names.map((n) => latency.get(n)![i]!.report.latency);
  const p = (h: typeof hs[number], q: number) => (h ? Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 : null);
  return [
    Math.round(latency.get('ours')![i]!.rate),
    ...hs.flatMap((h) => [p(h, 50), p(h, 99), p(h, 99.9), h ? h.maxValue / 1000 : null]),
    ratio(p(hs[0], 99), p(hs[1], 99)),
    ratio(p(hs[0], 99), p(hs[2], 99)),
  ];
});
log('\n== produce throughput (MiB/s of record values; broker CPU seconds per GiB)');
log(plainTable(tputHeaders, tputRows));
log('\n== acks=all latency, ms (1 KiB records, 6 partitions)');
log(plainTable(latHeaders, latRows));

// Plots: one per target (a line per rate) and one at 50% of Kafka's saturation (a line per target).
const plotFiles: string[] = [];
for (const n of names) {
  const file = `${plotsDir}/acks-all-${n.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '').toLowerCase()}.svg`;
  writeFileSync(file, latencyPlotSvg(`acks=all latency: ${n}`, latency.get(n)!.flatMap((r) => (r.report.latency ? [{ label: `${fmt(r.rate)} rec/s`, histogram: r.report.latency }] : []))));
  plotFiles.push(file);
}
const half = numberList(v['latency-fractions']!).indexOf(0.5);
if (half >= 0) {
  const file = `${plotsDir}/acks-all-50pct.svg`;
  writeFileSync(file, latencyPlotSvg(`acks=all latency at ${fmt(latency.get('ours')![half]!.rate)} rec/s (50% of Kafka's saturation)`,
    names.flatMap((n) => { const h = latency.get(n)![half]!.report.latency; return h ? [{ label: n, histogram: h }] : []; })));
  plotFiles.push(file);
}

// RESULTS.md
const sh = (cmd: string) => { try { return execSync(cmd, { encoding: 'utf8' }).trim(); } catch { return '(unavailable)'; } };
const lscpu = sh("lscpu | grep -E '^(Model name|CPU\\(s\\)|Thread|Core|Socket|Hypervisor vendor|L3 cache)'");
const disk = sh(`df -hT ${dataDir} | tail -1`);
const loadAfter = sh('cat /proc/loadavg');
const perTarget = names.map((n) => `#### ${n}\n\n${markdownTable(THROUGHPUT_HEADERS, [...tput.get(n)!.values()].map(throughputCells))}`);
const perTargetLat = names.map((n) => `#### ${n}\n\n${markdownTable(LATENCY_HEADERS, latency.get(n)!.map(latencyCells))}`);
sections.push(`# Benchmark results: this broker and Apache Kafka

Written by \`bench/compare\` on ${startedAt.toISOString()} (run took ${((Date.now() - startedAt.getTime()) / 60000).toFixed(1)} min).

## Machine

\`\`\`
${lscpu}
Memory: ${sh("free -g | awk '/Mem:/ {print $2 \" GiB\"}'")}
Data dirs: ${disk}
Load average before: ${loadBefore}
Load average after:  ${loadAfter}
Node ${process.version}; ${sh('java -version 2>&1 | head -1')}; Kafka ${sh("ls bench/peers/kafka/lib | sed -n 's/^kafka_2.13-\\(.*\\)\\.jar$/\\1/p'")}
\`\`\`

The load generator, both brokers and (at times) other work share these cores; the load
average above says how busy the machine was besides.

## Commands

\`\`\`sh
npm run build && npm run bench:build
bash bench/peers/kafka/fetch.sh
${commandLine}
\`\`\`

This broker: \`node ${v['broker-main']} --override log.dirs=${dataDir}/ours --override listeners=PLAINTEXT://127.0.0.1:${v['our-port']},CONTROLLER://127.0.0.1:${Number(v['our-port']) + 1} --override controller.quorum.voters=1@127.0.0.1:${Number(v['our-port']) + 1}\` (defaults otherwise: one partition worker per core).
Kafka: \`bench/peers/kafka/start.sh --brokers 1 --port ${v['kafka-port']} --heap 1g\` (KRaft, combined broker+controller, G1, otherwise Kafka's defaults);
three brokers: \`start.sh --brokers 3 --port ${Number(v['kafka-port']) + 10} --heap 512m\`.

## Durability of each column

- **ours**: acks=1 is answered once the batch is written to the partition's log file (page cache);
  acks=all once a group-commit fdatasync has made it durable. acks=0 gets no answer.
- **Kafka**: default flush settings (\`flush.messages\` and \`flush.ms\` unset: Kafka never fsyncs
  before acknowledging and leaves it to the OS); acks=1 and acks=all both answer after the page-cache write
  (one broker: the ISR is the leader alone).
- **Kafka flush.messages=1** (topic config): Kafka fsyncs the log after every append, before
  answering; the closest to ours at acks=all.

## Settings

Load generator (\`bench/lib/load.ts\`): Produce v9, pre-built uncompressed batches of ${batchBytes} B of
record values (${recordsPerBatch(batchBytes, 100)} x 100 B or ${recordsPerBatch(batchBytes, 1024)} x 1 KiB records; linger: none, every batch is full),
no keys, producer id -1; ${v.connections} connections per broker, ${v['in-flight']} requests in flight per connection (each
request carries one batch for each partition its connection writes); ${v.threads} client thread(s); ${v.warmup} s warm-up then
${v.duration} s measured per case, after ${v['broker-warmup']} s of unmeasured load on each broker; each case on a fresh topic, deleted afterwards. MiB/s counts record values.
Broker CPU s/GiB: CPU seconds of the broker process(es) (/proc/PID/stat, all threads) in the window per GiB of record values.
acks=all latency: open loop, one batch (${recordsPerBatch(batchBytes, 1024)} x 1 KiB) per request to one partition, cycling over 6 partitions
and ${v.connections} connections; rates are ${v['latency-fractions']} of Kafka's acks=all saturation measured above
(${fmt(saturation)} records/s, 1 KiB, 6 partitions, default flush); ${v.warmup} s warm-up then ${v['latency-duration']} s recorded;
latency from the write of the request to its answer, every sample in an HDR histogram ("p99 sched" in the
per-target tables: from the scheduled send time, which adds the generator's 1 ms timer resolution).

## Produce throughput, side by side

${markdownTable(tputHeaders, tputRows)}

## acks=all latency (ms), side by side

${markdownTable(latHeaders, latRows)}

Plots (latency against percentile): ${plotFiles.map((f) => `[${f.replace(/^bench\//, '')}](${f.replace(/^bench\//, '')})`).join(', ')}.

## Per-target tables

### Produce throughput

${perTarget.join('\n\n')}

### acks=all latency

${perTargetLat.join('\n\n')}
`);
if (threeBroker.tput.length) {
  sections.push(`## Kafka, three brokers, replication factor 3

These runs are Kafka only (this broker's three-broker figures come from bench/acks-all against a
cluster started by hand; three JVMs on the same
two cores, min.insync.replicas=1). Throughput, 1 KiB records, 6 partitions, acks=all:

${markdownTable(['target', ...THROUGHPUT_HEADERS], threeBroker.tput.map((r, i) => [threeBroker.names[i]!, ...throughputCells(r)]))}

acks=all latency at 50% of the single Kafka broker's saturation:

${markdownTable(['target', ...LATENCY_HEADERS], threeBroker.latency.map((r, i) => [threeBroker.names[i]!, ...latencyCells(r)]))}
`);
}
if (neutral.length) {
  const gen = (n: string) => tput.get(n)!.get(caseName({ recordSize: 1024, partitions: 6, acks: 1 }))?.report.recordsPerSec ?? null;
  sections.push(`## Load generator against neutral clients

1 KiB records, 6 partitions, acks=1, batch.size=${batchBytes}, linger.ms=5, no compression, idempotence off;
ProducerPerformance 300,000 records, kcat 200,000 records (kcat's time includes its start-up; its records are 1023 B + newline delimiter).

${markdownTable(['broker', 'client', 'records/s', 'MiB/s', 'bench load generator records/s (same case)'],
    neutral.map((n) => [n.broker, n.result.client, n.result.recordsPerSec, n.result.mibPerSec, gen(n.broker)]))}
`);
}
const md = sections.join('\n');
writeFileSync(v.results!, md);
log(`\nwrote ${v.results} and ${plotFiles.join(', ')}`);
