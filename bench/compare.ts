/**
 * This broker against Apache Kafka in one invocation: starts both (fresh data dirs, loopback
 * ports), runs the same produce-throughput cases and acks=all latency rates against this
 * broker, Kafka with its default flush settings and Kafka with flush.messages=1 (a topic
 * config), alternating the order from case to case, prints each figure side by side with
 * the ratio and writes bench/RESULTS.md. Latency rates are fractions of Kafka's measured
 * acks=all saturation (1 KiB, 6 partitions). Then the neutral clients check, and three
 * brokers with replication factor 3: this broker's cluster (three `node dist/main.js`) against
 * Kafka's (three JVMs) with and without flush.messages=1, acks=all throughput and latency at
 * the same fractions of the Kafka cluster's saturation. Flags: bench/README.md.
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/compare.js
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { acksList, numberList, throughputOptions } from './lib/args.js';
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
    ...throughputOptions,
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
const ours = await startOurs({ port: Number(v['our-port']), dataDir: `${dataDir}/ours`, main: resolve(v['broker-main']!) });
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

/** The latency runs' rates: the given fractions of a saturation rate, in whole hundreds. */
function latencyRates(saturationRate: number): number[] {
  return numberList(v['latency-fractions']!).map((f) => Math.max(100, Math.round((f * saturationRate) / 100) * 100));
}

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
const threeBroker = { names: [] as string[], tput: new Map<string, Map<string, ThroughputRow>>(), latency: new Map<string, LatencyRow[]>() };
let saturation = 0;
const satCase = { recordSize: 1024, partitions: 6, acks: -1 };

/** A JVM runs interpreted until its JIT has seen the hot paths: each broker gets unmeasured load first. */
async function warmUp(brokers: Target[], rf: number): Promise<void> {
  log(`warming up ${brokers.map((t) => t.name).join(' and ')}: ${v['broker-warmup']} s of 1 KiB acks=1 produce each, not counted`);
  for (const t of brokers) {
    await runThroughputCase({ recordSize: 1024, partitions: 6, acks: 1 }, { ...throughputSettings(t, rf), warmupMs: 0, durationMs: Number(v['broker-warmup']) * 1000 });
  }
}

function logThroughput(c: ThroughputCase, name: string, row: ThroughputRow): void {
  log(`${caseName(c).padEnd(26)} ${name.padEnd(26)} ${fmt(row.report.recordsPerSec).padStart(10)} rec/s ${fmt(row.report.mibPerSec).padStart(7)} MiB/s` +
    `${Object.keys(row.report.errors).length ? `  errors ${JSON.stringify(row.report.errors)}` : ''}`);
}

/** acks=all latency at each rate against every target, rotating which goes first, into `rows`. */
async function runLatencyRates(targets: Target[], rates: number[], rf: number, rows: Map<string, LatencyRow[]>): Promise<void> {
  for (const t of targets) rows.set(t.name, []);
  for (let i = 0; i < rates.length; i++) {
    for (const t of rotated(targets, i)) {
      const row = await runLatencyCase(rates[i]!, latencySettings(t, rf));
      rows.get(t.name)!.push(row);
      log(`${String(rates[i]).padStart(8)} rec/s ${t.name.padEnd(26)} ${plainTable(LATENCY_HEADERS, [latencyCells(row)]).split('\n')[1]}`);
    }
  }
}

try {
  await warmUp(targets.slice(0, 2), 1);

  // Produce throughput, alternating targets.
  const cases: ThroughputCase[] = [];
  for (const recordSize of numberList(v['record-sizes']!)) {
    for (const partitions of numberList(v.partitions!)) {
      for (const acks of acksList(v.acks!)) cases.push({ recordSize, partitions, acks });
    }
  }
  if (!cases.some((c) => caseName(c) === caseName(satCase))) cases.push(satCase);
  for (const t of targets) tput.set(t.name, new Map());
  log(`\n== produce throughput: ${cases.length} cases x ${targets.length} targets, ${v.warmup} s + ${v.duration} s each`);
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    for (const t of rotated(targets, i)) {
      const row = await runThroughputCase(c, throughputSettings(t));
      tput.get(t.name)!.set(caseName(c), row);
      logThroughput(c, t.name, row);
    }
  }
  saturation = tput.get('Kafka')!.get(caseName(satCase))!.report.recordsPerSec;

  // acks=all latency at fractions of Kafka's saturation.
  const rates = latencyRates(saturation);
  log(`\n== acks=all latency at ${rates.join(', ')} records/s (fractions ${v['latency-fractions']} of Kafka's ${fmt(saturation)} rec/s)`);
  await runLatencyRates(targets, rates, 1, latency);

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
  await ours.stop();
}

// Three brokers, replication factor 3: both clusters run side by side, as the single brokers did.
const ourClusterPort = Number(v['our-port']) + 10;
const kafkaClusterPort = Number(v['kafka-port']) + 10;
/** What a Kafka user sets for acks=all at replication factor 3: a write survives losing one replica. */
const rf3Configs = { 'min.insync.replicas': '2' };
let rf3Saturation = 0;
if (v['three-brokers'] && !v['no-three-brokers']) {
  log(`\n== three brokers, replication factor 3: this broker on ${ourClusterPort}.., Kafka on ${kafkaClusterPort}..`);
  const o3 = await startOurs({ brokers: 3, port: ourClusterPort, dataDir: `${dataDir}/ours3`, main: resolve(v['broker-main']!) });
  let k3: RunningBroker;
  try {
    k3 = await startKafka({ brokers: 3, port: kafkaClusterPort, dataDir: `${dataDir}/kafka3`, heap: '512m' });
  } catch (err) {
    await o3.stop();
    throw err;
  }
  try {
    const targets3: Target[] = [
      { name: 'ours x3', broker: () => o3, topicConfigs: rf3Configs },
      { name: 'Kafka x3', broker: () => k3, topicConfigs: rf3Configs },
      { name: 'Kafka x3 flush.messages=1', broker: () => k3, topicConfigs: { ...rf3Configs, 'flush.messages': '1' } },
    ];
    threeBroker.names.push(...targets3.map((t) => t.name));
    await warmUp(targets3.slice(0, 2), 3);
    for (const t of targets3) {
      const row = await runThroughputCase(satCase, throughputSettings(t, 3));
      threeBroker.tput.set(t.name, new Map([[caseName(satCase), row]]));
      logThroughput(satCase, t.name, row);
    }
    // Rates from the Kafka cluster's own saturation: the single broker's would overload both clusters.
    rf3Saturation = threeBroker.tput.get('Kafka x3')!.get(caseName(satCase))!.report.recordsPerSec;
    await runLatencyRates(targets3, latencyRates(rf3Saturation), 3, threeBroker.latency);
  } finally {
    await k3.stop();
    await o3.stop();
  }
}

// Side-by-side tables: the first target against the second and third.
function throughputTable(names: string[], rows: Map<string, Map<string, ThroughputRow>>): { headers: string[]; rows: Cell[][] } {
  return {
    headers: ['case', ...names.map((n) => `${n} MiB/s`), 'ours / Kafka', 'ours / Kafka flush=1', ...names.map((n) => `${n} CPU s/GiB`)],
    rows: [...rows.get(names[0]!)!.keys()].map((k) => {
      const rs = names.map((n) => rows.get(n)!.get(k)!.report);
      return [k, ...rs.map((r) => r.mibPerSec), ratio(rs[0]!.mibPerSec, rs[1]!.mibPerSec), ratio(rs[0]!.mibPerSec, rs[2]!.mibPerSec), ...rs.map((r) => r.brokerCpuSecPerGiB)];
    }),
  };
}

function latencyTable(names: string[], rows: Map<string, LatencyRow[]>): { headers: string[]; rows: Cell[][] } {
  return {
    headers: ['rate rec/s', ...names.flatMap((n) => [`${n} p50`, `${n} p99`, `${n} p99.9`, `${n} max`]), 'p99 ours / Kafka', 'p99 ours / Kafka flush=1'],
    rows: (rows.get(names[0]!) ?? []).map((first, i) => {
      const hs = names.map((n) => rows.get(n)![i]!.report.latency);
      const p = (h: typeof hs[number], q: number) => (h ? Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 : null);
      return [
        Math.round(first.rate),
        ...hs.flatMap((h) => [p(h, 50), p(h, 99), p(h, 99.9), h ? h.maxValue / 1000 : null]),
        ratio(p(hs[0], 99), p(hs[1], 99)),
        ratio(p(hs[0], 99), p(hs[2], 99)),
      ];
    }),
  };
}

const names = targets.map((t) => t.name);
const tputTable = throughputTable(names, tput);
const latTable = latencyTable(names, latency);
log('\n== produce throughput (MiB/s of record values; broker CPU seconds per GiB)');
log(plainTable(tputTable.headers, tputTable.rows));
log('\n== acks=all latency, ms (1 KiB records, 6 partitions)');
log(plainTable(latTable.headers, latTable.rows));
const tput3 = threeBroker.names.length ? throughputTable(threeBroker.names, threeBroker.tput) : null;
const lat3 = threeBroker.names.length ? latencyTable(threeBroker.names, threeBroker.latency) : null;
if (tput3 && lat3) {
  log('\n== three brokers, replication factor 3: produce throughput (MiB/s; broker CPU seconds per GiB)');
  log(plainTable(tput3.headers, tput3.rows));
  log('\n== three brokers, replication factor 3: acks=all latency, ms');
  log(plainTable(lat3.headers, lat3.rows));
}

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

This broker: \`node ${v['broker-main']} --override node.id=1 --override log.dirs=${dataDir}/ours/node1 --override listeners=PLAINTEXT://127.0.0.1:${v['our-port']},CONTROLLER://127.0.0.1:${Number(v['our-port']) + 1} --override controller.quorum.voters=1@127.0.0.1:${Number(v['our-port']) + 1}\` (defaults otherwise: one partition worker per core);
three brokers: the same with node.id=i, log.dirs=${dataDir}/ours3/node<i>, client port ${ourClusterPort} + 2(i-1), quorum port the one after, all three in controller.quorum.voters.
Kafka: \`bench/peers/kafka/start.sh --brokers 1 --port ${v['kafka-port']} --heap 1g\` (KRaft, combined broker+controller, G1, otherwise Kafka's defaults);
three brokers: \`start.sh --brokers 3 --port ${kafkaClusterPort} --heap 512m\`.

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

${markdownTable(tputTable.headers, tputTable.rows)}

## acks=all latency (ms), side by side

${markdownTable(latTable.headers, latTable.rows)}

Plots (latency against percentile): ${plotFiles.map((f) => `[${f.replace(/^bench\//, '')}](${f.replace(/^bench\//, '')})`).join(', ')}.

## Per-target tables

### Produce throughput

${perTarget.join('\n\n')}

### acks=all latency

${perTargetLat.join('\n\n')}
`);
if (tput3 && lat3) {
  const tn = threeBroker.names;
  sections.push(`## Three brokers, replication factor 3

This broker's cluster (three \`node dist/main.js\`) and Kafka's (three JVMs, 512 MiB heaps), all six
processes on the same cores, both clusters up throughout, each warmed up with ${v['broker-warmup']} s of unmeasured
1 KiB acks=1 load first. Every topic has replication factor 3 and the topic config
min.insync.replicas=2 (a write acknowledged at acks=all survives losing one replica), on both clusters;
"Kafka x3 flush.messages=1" adds flush.messages=1. Load and measurement as above, with ${v.connections} connections
to each broker that leads partitions.

- **ours x3**: acks=all is answered once the batch is on disk on every in-sync replica (the leader
  group-commits; a follower fetches past a batch only once it has fdatasynced it).
- **Kafka x3**: answered once every in-sync follower has fetched the batch into its page cache; no fsync.
- **Kafka x3 flush.messages=1**: every replica, followers included, fsyncs after each append.

Throughput, ${caseName(satCase)}:

${markdownTable(tput3.headers, tput3.rows)}

acks=all latency (ms) at fractions ${v['latency-fractions']} of Kafka x3's acks=all saturation above (${fmt(rf3Saturation)} records/s):

${markdownTable(lat3.headers, lat3.rows)}

Per target:

${markdownTable(['target', ...THROUGHPUT_HEADERS], tn.map((n) => [n, ...throughputCells(threeBroker.tput.get(n)!.get(caseName(satCase))!)]))}

${markdownTable(['target', ...LATENCY_HEADERS], tn.flatMap((n) => threeBroker.latency.get(n)!.map((row) => [n, ...latencyCells(row)])))}
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
