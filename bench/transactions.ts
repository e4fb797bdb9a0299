/**
 * Transactions on this broker and on Kafka, both up in the same run: transactional produce
 * throughput (a closed loop of transactions of `--records-per-txn` records) and commit latency
 * (transactions due at a fixed rate, the time of commitTransaction() alone). One client for
 * both: Kafka's Java producer, driven by bench/java/TransactionsBench.java, compiled here with
 * javac against the jars in bench/peers/kafka/lib. The brokers alternate within a round, the
 * order rotating, and the rounds repeat, because the machine is shared; every run is kept,
 * with the load average after it, and a raw 4 KiB write+fdatasync probe of the data
 * directory's disk runs before and after. Flags: bench/README.md. Replaces its section of
 * bench/RESULTS.md.
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/transactions.js
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { KAFKA_PEER_DIR, ROOT, startKafka, startOurs, type RunningBroker } from './lib/brokers.js';
import { fsyncProbe } from './lib/fsync-probe.js';
import { processCpuSeconds } from './lib/process-cpu.js';
import { loadAverage, machineLines, writeResultsSection } from './lib/results-section.js';
import { fmt, markdownTable, plainTable, type Cell } from './lib/table.js';

const run = promisify(execFile);

const { values: v } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'records-per-txn': { type: 'string', default: '100' },
    'record-size': { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '6' },
    'throughput-seconds': { type: 'string', default: '15' },
    'latency-seconds': { type: 'string', default: '30' },
    'warmup-seconds': { type: 'string', default: '3' },
    rate: { type: 'string', default: '10' },
    'our-port': { type: 'string', default: '29692' },
    'kafka-port': { type: 'string', default: '29792' },
    'data-dir': { type: 'string', default: '/tmp/bench-txn' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    'node-options': { type: 'string', default: '' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
  },
});

const SECTION = '## Transactions: transactional produce throughput and commit latency';
const TOPIC = 'txn-bench';
const recordsPerTxn = Number(v['records-per-txn']);
const recordSize = Number(v['record-size']);
const partitions = Number(v.partitions);
const rate = Number(v.rate);
const dataDir = v['data-dir']!;

/** What TransactionsBench prints: the measured window's transactions, and each commit's (and flush's) time in µs. */
interface JavaResult { txns: number; records: number; seconds: number; late: number; initUs: number; commitUs: number[]; flushUs: number[] }

interface Target { broker: string; bootstrap: string; pid: number }

let classesDir = '';
let runs = 0;

async function transactionsBench(args: Record<string, string | number>, timeoutMs: number): Promise<JavaResult | null> {
  const { stdout } = await run('java', [
    '-Xmx256m', '-cp', `${KAFKA_PEER_DIR}/lib/*:${classesDir}`, 'TransactionsBench',
    ...Object.entries(args).map(([k, x]) => `${k}=${x}`),
  ], { maxBuffer: 64 * 2 ** 20, timeout: timeoutMs });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return line ? (JSON.parse(line.slice('RESULT '.length)) as JavaResult) : null;
}

/** One producer's run: a fresh transactional.id each time, so every run starts with InitProducerId. */
async function measure(t: Target, mode: 'throughput' | 'latency', seconds: number, warmup: number): Promise<JavaResult> {
  const r = await transactionsBench({
    bootstrap: t.bootstrap, topic: TOPIC, partitions, recordsPerTxn, recordSize,
    rate: mode === 'latency' ? rate : 0, warmupSeconds: warmup, seconds,
    transactionalId: `txn-bench-${t.broker}-${++runs}`,
  }, (seconds + warmup + 120) * 1000);
  if (!r) throw new Error(`TransactionsBench printed no result against ${t.broker}`);
  return r;
}

/** Nearest-rank percentile of µs samples, in ms. */
function percentileMs(us: number[], q: number): number {
  if (us.length === 0) return NaN;
  const s = [...us].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]! / 1000;
}

interface Row {
  round: number; broker: string; measure: 'throughput' | 'latency';
  recordsPerSec: number; txnsPerSec: number; txns: number; late: number;
  commitP50: number; commitP99: number; commitMax: number; flushP50: number;
  brokerCpuMsPerTxn: number; load: string;
}

function toRow(round: number, t: Target, m: Row['measure'], r: JavaResult, cpuSeconds: number, allTxns: number): Row {
  return {
    round, broker: t.broker, measure: m,
    recordsPerSec: r.records / r.seconds, txnsPerSec: r.txns / r.seconds, txns: r.txns, late: r.late,
    commitP50: percentileMs(r.commitUs, 0.5), commitP99: percentileMs(r.commitUs, 0.99), commitMax: percentileMs(r.commitUs, 1),
    flushP50: percentileMs(r.flushUs, 0.5),
    brokerCpuMsPerTxn: (cpuSeconds * 1000) / allTxns, load: loadAverage(),
  };
}

const HEADERS = ['round', 'broker', 'run', 'records/s', 'txns/s', 'txns', 'late', 'commit p50 ms', 'commit p99 ms', 'commit max ms', 'flush p50 ms', 'broker CPU ms/txn', 'load 1/5/15'];

function cells(r: Row): Cell[] {
  const lat = r.measure === 'latency';
  return [String(r.round), r.broker, lat ? `${rate} txns/s` : 'closed loop', r.recordsPerSec, r.txnsPerSec, r.txns,
    lat ? r.late : null, r.commitP50, r.commitP99, r.commitMax, lat ? r.flushP50 : null, r.brokerCpuMsPerTxn, r.load];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const SUMMARY_HEADERS = ['figure', 'ours (median)', 'ours min-max', 'Kafka (median)', 'Kafka min-max', 'ours / Kafka'];

function summaryRows(rows: Row[]): Cell[][] {
  const figures: { name: string; measure: Row['measure']; pick: (r: Row) => number }[] = [
    { name: `records/s, closed loop, ${recordsPerTxn} records per txn`, measure: 'throughput', pick: (r) => r.recordsPerSec },
    { name: 'txns/s, closed loop', measure: 'throughput', pick: (r) => r.txnsPerSec },
    { name: 'commit p50 ms, closed loop', measure: 'throughput', pick: (r) => r.commitP50 },
    { name: `commit p50 ms at ${rate} txns/s`, measure: 'latency', pick: (r) => r.commitP50 },
    { name: `commit p99 ms at ${rate} txns/s`, measure: 'latency', pick: (r) => r.commitP99 },
    { name: `commit max ms at ${rate} txns/s`, measure: 'latency', pick: (r) => r.commitMax },
    { name: `flush p50 ms at ${rate} txns/s`, measure: 'latency', pick: (r) => r.flushP50 },
    { name: 'broker CPU ms per txn, closed loop', measure: 'throughput', pick: (r) => r.brokerCpuMsPerTxn },
  ];
  const spread = (xs: number[]) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
  return figures.map((f) => {
    const of = (broker: string) => rows.filter((r) => r.broker === broker && r.measure === f.measure).map(f.pick);
    const ours = of('ours');
    const kafka = of('Kafka');
    return [f.name, median(ours), spread(ours), median(kafka), spread(kafka), `${(median(ours) / median(kafka)).toFixed(2)}x`];
  });
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadAverage();
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  classesDir = mkdtempSync(path.join(os.tmpdir(), 'bench-txn-classes-'));
  const brokers: RunningBroker[] = [];
  try {
    await run('javac', ['-cp', `${KAFKA_PEER_DIR}/lib/*`, '-d', classesDir, `${ROOT}bench/java/TransactionsBench.java`]);
    const probeBefore = fsyncProbe(dataDir, 500);
    const ours = await startOurs({ main: v['broker-main'], nodeOptions: v['node-options'], port: Number(v['our-port']), dataDir: `${dataDir}/ours` });
    brokers.push(ours);
    const kafka = await startKafka({ brokers: 1, port: Number(v['kafka-port']), dataDir: `${dataDir}/kafka`, heap: '1g' });
    brokers.push(kafka);
    const targets: Target[] = [
      { broker: 'ours', bootstrap: ours.bootstrap, pid: ours.pids[0]! },
      { broker: 'Kafka', bootstrap: kafka.bootstrap, pid: kafka.pids[0]! },
    ];
    for (const t of targets) await transactionsBench({ mode: 'create', bootstrap: t.bootstrap, topic: TOPIC, partitions }, 120_000);
    // Warm-up: each broker once (JIT, page cache, __transaction_state's creation), unrecorded.
    for (const t of targets) await measure(t, 'throughput', 5, 2);

    const rows: Row[] = [];
    const throughputSeconds = Number(v['throughput-seconds']);
    const latencySeconds = Number(v['latency-seconds']);
    const warmup = Number(v['warmup-seconds']);
    console.log(plainTable(HEADERS, []));
    for (let round = 1; round <= Number(v.rounds); round++) {
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      for (const m of ['throughput', 'latency'] as const) {
        for (const t of order) {
          const cpu0 = processCpuSeconds(t.pid);
          const r = await measure(t, m, m === 'throughput' ? throughputSeconds : latencySeconds, warmup);
          const cpu = processCpuSeconds(t.pid) - cpu0;
          // The CPU covers the warm-up's transactions too: estimated at the measured rate.
          const allTxns = r.txns * (1 + warmup / r.seconds);
          const row = toRow(round, t, m, r, cpu, allTxns);
          rows.push(row);
          console.log(plainTable(HEADERS, [cells(row)]).split('\n')[1]);
        }
      }
    }
    const probeAfter = fsyncProbe(dataDir, 500);
    const loadAfter = loadAverage();
    const summary = summaryRows(rows);
    console.log(`\n${plainTable(SUMMARY_HEADERS, summary)}`);
    writeResults({ started, loadBefore, loadAfter, probeBefore, probeAfter, rows, summary });
  } finally {
    for (const b of brokers.reverse()) await b.stop();
    rmSync(classesDir, { recursive: true, force: true });
  }
}

function writeResults(r: {
  started: Date; loadBefore: string; loadAfter: string;
  probeBefore: { p50: number; p99: number }; probeAfter: { p50: number; p99: number }; rows: Row[]; summary: Cell[][];
}): void {
  const cmd = `node dist-bench/bench/transactions.js ${process.argv.slice(2).join(' ')}`.trim();
  const text = [
    SECTION,
    '',
    `Run ${r.started.toISOString()}, shared with other work: load average (1/5/15 min) ${r.loadBefore} before, ${r.loadAfter} after.`
    + ` Raw 4 KiB write+fdatasync in ${dataDir} (500 each): p50 ${r.probeBefore.p50.toFixed(2)} ms, p99 ${r.probeBefore.p99.toFixed(2)} ms before;`
    + ` p50 ${r.probeAfter.p50.toFixed(2)} ms, p99 ${r.probeAfter.p99.toFixed(2)} ms after.`,
    '',
    '```',
    ...machineLines(dataDir),
    '```',
    '',
    '```sh',
    'npm run build && npm run bench:build',
    cmd,
    '```',
    '',
    'Settings. Both brokers up at once, one node each, replication factor 1, defaults otherwise. This',
    'broker: one `node dist/main.js` node; it fdatasyncs a batch before acknowledging it at acks=all',
    '(a transactional producer always uses acks=all), and likewise the transaction state and the markers.',
    'Kafka 4.3: one `bench/peers/kafka/start.sh` node (KRaft, 1 GiB heap), default flush settings: no',
    'fsync before acknowledging, neither records nor `__transaction_state`. One client for both: Kafka\'s',
    'Java producer (`bench/java/TransactionsBench.java`, compiled by the bench with javac against',
    '`kafka-clients-4.3.1`), its default settings (batch.size 16384, linger.ms 5), a fresh',
    '`transactional.id` per run. A transaction is beginTransaction(), ' + `${recordsPerTxn} records of ${recordSize} bytes dealt round-robin over a`,
    `topic of ${partitions} partitions (so every transaction writes to all ${partitions} and its commit marks all ${partitions}), then commitTransaction().`,
    `Closed loop: the next transaction begins when the last commit returns, ${v['throughput-seconds']} s measured after ${v['warmup-seconds']} s`,
    `unrecorded; commit there includes sending the records still lingering. Fixed rate: a transaction is due every 1/${rate} s`,
    '(a late one starts at once and is counted in `late`, the schedule does not move), ' + `${v['latency-seconds']} s measured after ${v['warmup-seconds']} s;`,
    'flush() first sends the records and waits for their acknowledgements (`flush p50`), then the',
    'commit latency is the time of commitTransaction() alone: EndTxn, the coordinator\'s work and its answer.',
    'Each round runs both measures against both brokers, the order rotating from round to round, after one',
    'unrecorded warm-up run per broker. Broker CPU is the broker process\'s (all threads) over the whole run,',
    'per transaction (warm-up transactions estimated at the measured rate).',
    '',
    '### Summary (median of the rounds)',
    '',
    markdownTable(SUMMARY_HEADERS, r.summary),
    '',
    '### Every run',
    '',
    markdownTable(HEADERS, r.rows.map(cells)),
    '',
  ].join('\n');
  writeResultsSection(v.results!, SECTION, text);
}

await main();
