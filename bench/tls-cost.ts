/**
 * What TLS and SASL cost: produce throughput and acks=all latency over SASL_SSL (SCRAM-SHA-512,
 * TLS 1.3 only) against PLAINTEXT, on this broker and on Kafka, both up in the same run, with
 * a PLAINTEXT and a SASL_SSL listener each on the same key and certificate (made here with
 * openssl in a temp dir). One client for all four cases: Kafka's ProducerPerformance, at full
 * speed (throughput) and at a fixed rate (latency percentiles). The cases rotate within a round
 * and the rounds repeat, because the machine is shared; every run is kept, with the load
 * average around it, and a raw 4 KiB write+fdatasync probe of the data directory's disk runs
 * before and after. Flags: bench/README.md. Replaces its section of bench/RESULTS.md.
 *
 *   npm run build && npm run bench:build && node dist-bench/bench/tls-cost.js
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { KAFKA_PEER_DIR, startKafka, startOurs, type RunningBroker } from './lib/brokers.js';
import { fsyncProbe } from './lib/fsync-probe.js';
import { processCpuSeconds } from './lib/process-cpu.js';
import { fmt, markdownTable, plainTable, type Cell } from './lib/table.js';

const run = promisify(execFile);

const { values: v } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'record-size': { type: 'string', default: '1024' },
    partitions: { type: 'string', default: '6' },
    'throughput-records': { type: 'string', default: '300000' },
    rate: { type: 'string', default: '5000' },
    'latency-seconds': { type: 'string', default: '10' },
    'latency-warmup': { type: 'string', default: '8' },
    'throughput-warmup': { type: 'string', default: '50000' },
    'our-port': { type: 'string', default: '29492' },
    'kafka-port': { type: 'string', default: '29592' },
    'data-dir': { type: 'string', default: '/tmp/bench-tls' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    'node-options': { type: 'string', default: '' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
  },
});

const SECTION = '## TLS and SASL: SASL_SSL (SCRAM-SHA-512, TLS 1.3) against PLAINTEXT';
const USER = 'bench';
const PASSWORD = 'bench-secret';
const TOPIC = 'tls-cost';
const recordSize = Number(v['record-size']);
const partitions = Number(v.partitions);
const rate = Number(v.rate);
const latencyRecords = rate * Number(v['latency-seconds']);
const latencyWarmup = rate * Number(v['latency-warmup']);
const throughputRecords = Number(v['throughput-records']);
const throughputWarmup = Number(v['throughput-warmup']);
const dataDir = v['data-dir']!;
const SCRAM_JAAS = (user?: string, pw?: string) =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required${user ? ` username="${user}" password="${pw}"` : ''};`;

interface Pki { ca: string; keystore: string }

/** A CA and a server certificate for 127.0.0.1 (RSA 2048); key and chain in one PEM file. */
function makePki(dir: string): Pki {
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bench-ca']);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '1', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  const keystore = path.join(dir, 'server.keystore.pem');
  writeFileSync(keystore, readFileSync(path.join(dir, 'server.key'), 'utf8') + readFileSync(path.join(dir, 'server.pem'), 'utf8'));
  return { ca: path.join(dir, 'ca.pem'), keystore };
}

interface Target {
  broker: string;
  protocol: 'PLAINTEXT' | 'SASL_SSL';
  bootstrap: string;
  pid: number;
  clientConfig: string;
}

interface Summary { recordsPerSec: number; mibPerSec: number; p50: number; p99: number; p999: number; max: number }

/** ProducerPerformance's steady-state line (after the warm-up records): records/s, MB/s, then latencies in ms. */
function parseSummary(out: string): Summary {
  const last = out.trim().split('\n').filter((l) => l.includes('steady state records sent')).pop() ?? '';
  const m = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), [\d.]+ ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/.exec(last);
  if (!m) throw new Error(`ProducerPerformance printed no summary:\n${out.slice(-2000)}`);
  return { recordsPerSec: Number(m[1]), mibPerSec: Number(m[2]), max: Number(m[3]), p50: Number(m[4]), p99: Number(m[5]), p999: Number(m[6]) };
}

/**
 * One ProducerPerformance run; the figures leave out the first `warmup` records: the client's
 * TLS and SASL start-up (1 to 2 s before its first answer, on either broker) would otherwise
 * hold the first records back and, at a fixed rate, queue the ones behind them.
 */
async function producerPerformance(t: Target, records: number, warmup: number, throughput: number, acks: string): Promise<Summary> {
  const { stdout } = await run('java', [
    '-Xmx512m', '-cp', `${KAFKA_PEER_DIR}/lib/*`, 'org.apache.kafka.tools.ProducerPerformance',
    '--topic', TOPIC, '--num-records', String(records + warmup), '--warmup-records', String(warmup),
    '--record-size', String(recordSize), '--throughput', String(throughput),
    '--command-config', t.clientConfig,
    '--command-property', `bootstrap.servers=${t.bootstrap}`, `acks=${acks}`,
  ], { maxBuffer: 16 * 2 ** 20, timeout: 300_000 });
  return parseSummary(stdout);
}

interface Row { round: number; broker: string; protocol: string; measure: string; s: Summary; brokerCpuSPerGiB: number; load: string }

function loadavg(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function clientConfig(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, `${name}.properties`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg();
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const pkiDir = mkdtempSync(path.join(os.tmpdir(), 'bench-tls-pki-'));
  const brokers: RunningBroker[] = [];
  try {
    const pki = makePki(pkiDir);
    const tls = ['ssl.enabled.protocols=TLSv1.3', 'ssl.protocol=TLSv1.3'];
    const plainConfig = clientConfig(pkiDir, 'plaintext', ['security.protocol=PLAINTEXT']);
    const saslConfig = clientConfig(pkiDir, 'sasl-ssl', [
      'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', `sasl.jaas.config=${SCRAM_JAAS(USER, PASSWORD)}`,
      'ssl.truststore.type=PEM', `ssl.truststore.location=${pki.ca}`, ...tls,
    ]);
    const probeBefore = fsyncProbe(dataDir, 500);

    // One node of each broker with both listeners, as clients of each are given that
    // listener's address.
    const ourPort = Number(v['our-port']);
    const ourSecure = ourPort + 2;
    const ours = await startOurs({
      main: v['broker-main'],
      nodeOptions: v['node-options'],
      port: ourPort,
      dataDir: `${dataDir}/ours`,
      overrides: [
        `listeners=PLAINTEXT://127.0.0.1:${ourPort},CONTROLLER://127.0.0.1:${ourPort + 1},SASL_SSL://127.0.0.1:${ourSecure}`,
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
        'inter.broker.listener.name=PLAINTEXT',
        'sasl.enabled.mechanisms=SCRAM-SHA-512',
        `ssl.keystore.location=${pki.keystore}`,
        `num.partitions=${partitions}`,
        ...tls,
      ],
      args: ['--add-scram', `SCRAM-SHA-512=[name=${USER},iterations=4096,password=${PASSWORD}]`],
    });
    brokers.push(ours);
    const kafkaPort = Number(v['kafka-port']);
    const kafkaSecure = kafkaPort + 2;
    const kafka = await startKafka({
      brokers: 1,
      port: kafkaPort,
      dataDir: `${dataDir}/kafka`,
      heap: '1g',
      settings: [
        `listeners=PLAINTEXT://127.0.0.1:${kafkaPort},CONTROLLER://127.0.0.1:${kafkaPort + 1},SASL_SSL://127.0.0.1:${kafkaSecure}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${kafkaPort},SASL_SSL://127.0.0.1:${kafkaSecure}`,
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
        'sasl.enabled.mechanisms=SCRAM-SHA-512',
        `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${SCRAM_JAAS()}`,
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${pki.keystore}`,
        `num.partitions=${partitions}`,
        ...tls,
      ],
    });
    brokers.push(kafka);
    // Kafka takes its first SCRAM credential over the plaintext listener, as kafka-configs gives it.
    await run('java', ['-cp', `${KAFKA_PEER_DIR}/lib/*`, 'kafka.admin.ConfigCommand', '--bootstrap-server', kafka.bootstrap,
      '--alter', '--add-config', `SCRAM-SHA-512=[iterations=4096,password=${PASSWORD}]`, '--entity-type', 'users', '--entity-name', USER]);

    // The topic is created on first use (num.partitions), on every listener the same way.
    const secure = (bootstrap: string, pid: number): Pick<Target, 'bootstrap' | 'pid' | 'clientConfig'> => ({ bootstrap, pid, clientConfig: saslConfig });
    const plain = (b: RunningBroker): Pick<Target, 'bootstrap' | 'pid' | 'clientConfig'> => ({ bootstrap: b.bootstrap, pid: b.pids[0]!, clientConfig: plainConfig });
    const targets: Target[] = [
      { broker: 'ours', protocol: 'PLAINTEXT', ...plain(ours) },
      { broker: 'ours', protocol: 'SASL_SSL', ...secure(`127.0.0.1:${ourSecure}`, ours.pids[0]!) },
      { broker: 'Kafka', protocol: 'PLAINTEXT', ...plain(kafka) },
      { broker: 'Kafka', protocol: 'SASL_SSL', ...secure(`127.0.0.1:${kafkaSecure}`, kafka.pids[0]!) },
    ];
    // Warm-up: every target once (JIT, page cache, the first SCRAM exchange), unrecorded.
    for (const t of targets) await producerPerformance(t, 50_000, 10_000, -1, '1');

    const rows: Row[] = [];
    const measures = [
      { measure: 'acks=1 full speed', records: throughputRecords, warmup: throughputWarmup, throughput: -1, acks: '1' },
      { measure: 'acks=all full speed', records: throughputRecords, warmup: throughputWarmup, throughput: -1, acks: 'all' },
      { measure: `acks=all at ${rate}/s`, records: latencyRecords, warmup: latencyWarmup, throughput: rate, acks: 'all' },
    ];
    for (let round = 1; round <= Number(v.rounds); round++) {
      // Rotate which target goes first, so no target always runs right after the same other one.
      const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]!);
      for (const m of measures) {
        for (const t of order) {
          const cpu0 = processCpuSeconds(t.pid);
          const s = await producerPerformance(t, m.records, m.warmup, m.throughput, m.acks);
          const cpu = processCpuSeconds(t.pid) - cpu0;
          const row = { round, broker: t.broker, protocol: t.protocol, measure: m.measure, s, brokerCpuSPerGiB: cpu / (((m.records + m.warmup) * recordSize) / 2 ** 30), load: loadavg() };
          rows.push(row);
          console.log(plainTable(HEADERS, [cells(row)]).split('\n')[1]);
        }
      }
    }
    const probeAfter = fsyncProbe(dataDir, 500);
    const loadAfter = loadavg();
    writeResults({ started, loadBefore, loadAfter, probeBefore, probeAfter, rows });
  } finally {
    for (const b of brokers.reverse()) await b.stop();
    rmSync(pkiDir, { recursive: true, force: true });
  }
}

const HEADERS = ['round', 'broker', 'listener', 'run', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'broker CPU s/GiB', 'load 1/5/15'];

function cells(r: Row): Cell[] {
  return [String(r.round), r.broker, r.protocol, r.measure, r.s.recordsPerSec, r.s.mibPerSec, r.s.p50, r.s.p99, r.s.p999, r.s.max, r.brokerCpuSPerGiB, r.load];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Per broker and run: the median over rounds of each listener, the spread (min-max), and SASL_SSL/PLAINTEXT. */
function summaryRows(rows: Row[]): Cell[][] {
  const out: Cell[][] = [];
  const spread = (xs: number[]) => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
  for (const broker of ['ours', 'Kafka']) {
    for (const measure of [...new Set(rows.map((r) => r.measure))]) {
      const of = (protocol: string) => rows.filter((r) => r.broker === broker && r.measure === measure && r.protocol === protocol);
      const plain = of('PLAINTEXT');
      const secure = of('SASL_SSL');
      const full = measure.includes('full speed');
      const pick = (r: Row) => (full ? r.s.recordsPerSec : r.s.p99);
      const p = median(plain.map(pick));
      const s = median(secure.map(pick));
      const cpuP = median(plain.map((r) => r.brokerCpuSPerGiB));
      const cpuS = median(secure.map((r) => r.brokerCpuSPerGiB));
      out.push([broker, measure, full ? 'records/s' : 'p99 ms', p, spread(plain.map(pick)), s, spread(secure.map(pick)), `${(s / p).toFixed(2)}x`, cpuP, cpuS]);
    }
  }
  return out;
}

const SUMMARY_HEADERS = ['broker', 'run', 'figure', 'PLAINTEXT (median)', 'PLAINTEXT min-max', 'SASL_SSL (median)', 'SASL_SSL min-max', 'SASL_SSL / PLAINTEXT', 'broker CPU s/GiB PLAINTEXT', 'broker CPU s/GiB SASL_SSL'];

function writeResults(r: {
  started: Date; loadBefore: string; loadAfter: string;
  probeBefore: { p50: number; p99: number }; probeAfter: { p50: number; p99: number }; rows: Row[];
}): void {
  const summary = summaryRows(r.rows);
  console.log(`\n${plainTable(SUMMARY_HEADERS, summary)}`);
  const cmd = `node dist-bench/bench/tls-cost.js ${process.argv.slice(2).join(' ')}`.trim();
  const text = [
    SECTION,
    '',
    `Run ${r.started.toISOString()} on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version},`
    + ` shared with other work: load average (1/5/15 min) ${r.loadBefore} before, ${r.loadAfter} after.`
    + ` Raw 4 KiB write+fdatasync in ${dataDir} (500 each): p50 ${r.probeBefore.p50.toFixed(2)} ms, p99 ${r.probeBefore.p99.toFixed(2)} ms before;`
    + ` p50 ${r.probeAfter.p50.toFixed(2)} ms, p99 ${r.probeAfter.p99.toFixed(2)} ms after.`,
    '',
    '```sh',
    'npm run build && npm run bench:build',
    cmd,
    '```',
    '',
    'Settings. Both brokers run at once on the same RSA 2048 key and certificate (made by openssl for the',
    'run): `ssl.enabled.protocols=TLSv1.3`, `sasl.enabled.mechanisms=SCRAM-SHA-512`, the user\'s',
    'credential with 4096 iterations. This broker: one `node dist/main.js` node with both listeners',
    '(the credential given with `--add-scram`); defaults otherwise (fdatasync before acks=all). Kafka',
    '4.3: one `bench/peers/kafka/start.sh` node (KRaft, 1 GiB heap) with both listeners,',
    '`ssl.keystore.type=PEM`, default flush settings (no fsync before acks=all), the credential set',
    'with kafka-configs. One client for every case: ProducerPerformance from Kafka\'s jars,',
    `${recordSize}-byte records, one topic of ${partitions} partitions (auto-created, \`num.partitions\`),`,
    'its default producer settings (batch.size 16384, linger.ms 5, idempotence on for acks=all),',
    'TLS 1.3 and the CA as a PEM trust store on SASL_SSL. Full speed: ' + `${throughputRecords} records after ${throughputWarmup} warm-up records, \`--throughput -1\`.`,
    `Latency: ${latencyRecords} records at \`--throughput ${rate}\` after ${latencyWarmup} warm-up records; ProducerPerformance measures from send() to the`,
    'acknowledgement, batching wait included. Figures are ProducerPerformance\'s steady state (`--warmup-records`): the client\'s',
    'TLS and SASL start-up holds its first records back 1 to 2 s on either broker, which at a fixed rate queues those behind them. Each round runs every case against all four targets, the',
    'order rotating from round to round, after one unrecorded warm-up run per target. Broker CPU is',
    'the broker process\'s (all threads) over the whole run, warm-up included, per GiB of record values sent.',
    '',
    '### Summary (median of the rounds)',
    '',
    markdownTable(SUMMARY_HEADERS, summary),
    '',
    '### Every run',
    '',
    markdownTable(HEADERS, r.rows.map(cells)),
    '',
  ].join('\n');
  const file = v.results!;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(SECTION);
  let next: string;
  if (at < 0) next = `${old.trimEnd()}\n\n${text}`;
  else {
    const end = old.indexOf('\n## ', at + SECTION.length);
    next = old.slice(0, at) + text + (end < 0 ? '' : old.slice(end + 1));
  }
  writeFileSync(file, next);
}

await main();
