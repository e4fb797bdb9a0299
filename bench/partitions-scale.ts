/**
 * How start-up time and memory grow with the number of partitions on one broker, this broker
 * against Apache Kafka, both under the same open-file limit (`prlimit --nofile=N:N`).
 *
 * For each broker and each partition count: a fresh start, the partitions created as topics of
 * at most 1,000 partitions, one record produced to each (acks=all), then a SIGTERM and a start
 * on the same data. Measured:
 *   - start (fresh): process spawn to the client port answering, empty data dir;
 *   - create: the CreateTopics requests until Metadata lists every partition with a leader;
 *   - produce: one Produce per topic, one record per partition, acks=all;
 *   - stop: SIGTERM to exit;
 *   - restart: spawn on the existing data to Metadata listing every partition with a leader;
 *   - RSS (resident set of the process, all threads or the whole JVM) after the produce and
 *     after the restart, and the open descriptors (/proc/<pid>/fd) at those moments.
 * A broker that cannot do a step gets the error in its row, and the next counts are skipped.
 *
 *   npm run build && npm run bench:build && bash bench/peers/kafka/fetch.sh
 *   node dist-bench/bench/partitions-scale.js [--counts 1000,5000,20000] [--brokers ours,kafka]
 *
 * Flags: bench/README.md. Appends (or replaces) its section of bench/RESULTS.md.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ApiKey } from '../src/shared/protocol/generated/api-keys.js';
import { numberList } from './lib/args.js';
import { KAFKA_PEER_DIR } from './lib/brokers.js';
import { buildBatch, buildProduceFrame, PRODUCE_VERSION } from './lib/produce-frames.js';
import { machineLines, writeResultsSection } from './lib/results-section.js';
import { markdownTable, plainTable, type Cell } from './lib/table.js';
import { ClientConnection } from '../src/shared/client-connection.js';

const { values: v } = parseArgs({
  options: {
    counts: { type: 'string', default: '1000,5000,20000' },
    brokers: { type: 'string', default: 'ours,kafka' },
    nofile: { type: 'string', default: '20000' },
    port: { type: 'string', default: '29292' },
    'kafka-port': { type: 'string', default: '29392' },
    'kafka-heap': { type: 'string', default: '1g' },
    'data-dir': { type: 'string', default: '/tmp/bench-partitions' },
    'broker-main': { type: 'string', default: 'dist/main.js' },
    'timeout': { type: 'string', default: '600' },
    results: { type: 'string', default: 'bench/RESULTS.md' },
  },
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PER_TOPIC = 1000;
const nofile = Number(v.nofile);
const timeoutMs = Number(v.timeout) * 1000;
const SECTION = '## Partition scale: start-up, restart and memory';

interface Broker {
  /** The broker's own output (kept after the run). */
  logFile: string;
  /** Its data (deleted after the run). */
  dataDir: string;
  pid(): number;
  /** Starts on the data dir as it is (`fresh`: a new, empty one). Resolves when the client port answers. */
  start(fresh: boolean): Promise<void>;
  /** SIGTERM; resolves on exit. */
  stop(): Promise<void>;
  kill(): void;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = ClientConnection.connect('127.0.0.1', port, { clientId: 'bench' });
    s.then((c) => { c.close(); resolve(true); }, () => resolve(false));
  });
}

async function waitForPort(port: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (!alive()) throw new Error(`exited before listening on ${port}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function ours(port: number, dir: string): Broker {
  let child: ChildProcess | undefined;
  const args = [
    `${ROOT}${v['broker-main']}`,
    '--override', 'node.id=1',
    '--override', `log.dirs=${dir}/data`,
    '--override', `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}`,
    '--override', `controller.quorum.voters=1@127.0.0.1:${port + 1}`,
  ];
  return {
    logFile: `${dir}/broker.log`,
    dataDir: `${dir}/data`,
    pid: () => child!.pid!,
    async start() {
      mkdirSync(dir, { recursive: true });
      const log = openSync(`${dir}/broker.log`, 'a');
      child = spawn('prlimit', [`--nofile=${nofile}:${nofile}`, process.execPath, ...args], {
        stdio: ['ignore', log, log],
        env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' },
      });
      closeSync(log);
      const c = child;
      await waitForPort(port, () => c.exitCode === null && c.signalCode === null);
    },
    async stop() {
      const c = child!;
      const done = exited(c);
      c.kill('SIGTERM');
      await done;
    },
    kill() {
      child?.kill('SIGKILL');
    },
  };
}

/** Kafka through bench/peers/kafka/start.sh (--keep: start on the existing data). */
function kafka(port: number, dir: string): Broker {
  let pid = 0;
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    logFile: `${dir}/node1.out`,
    dataDir: `${dir}/node1`,
    pid: () => pid,
    async start(fresh) {
      const out = execFileSync('prlimit', [`--nofile=${nofile}:${nofile}`, `${KAFKA_PEER_DIR}/start.sh`, '--brokers', '1', '--port', String(port),
        '--dir', dir, '--heap', v['kafka-heap']!, ...(fresh ? [] : ['--keep'])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      pid = Number(/^pid (\d+)$/m.exec(out)?.[1]);
      await waitForPort(port, alive);
    },
    async stop() {
      process.kill(pid, 'SIGTERM');
      while (alive()) await sleep(50);
    },
    kill() {
      if (pid && alive()) process.kill(pid, 'SIGKILL');
    },
  };
}

/** Resident set size of a process in MiB (VmRSS). */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function descriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function topicsFor(count: number): Array<{ name: string; partitions: number }> {
  const out = [];
  for (let i = 0; i * PER_TOPIC < count; i++) out.push({ name: `scale-${String(i).padStart(3, '0')}`, partitions: Math.min(PER_TOPIC, count - i * PER_TOPIC) });
  return out;
}

/** Partitions of the `scale-` topics that Metadata lists with a leader. */
async function ledPartitions(port: number): Promise<number> {
  let c: ClientConnection;
  try {
    c = await ClientConnection.connect('127.0.0.1', port, { clientId: 'bench' });
  } catch {
    return 0;
  }
  try {
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    let n = 0;
    for (const t of md.topics) if (t.name?.startsWith('scale-')) n += t.partitions.filter((p) => p.errorCode === 0 && p.leaderId >= 0).length;
    return n;
  } catch {
    return 0;
  } finally {
    c.close();
  }
}

async function waitLed(port: number, count: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ledPartitions(port)) < count) {
    if (!alive()) throw new Error('the broker exited');
    if (Date.now() > deadline) throw new Error(`not every partition has a leader after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function createAll(port: number, count: number): Promise<void> {
  const c = await ClientConnection.connect('127.0.0.1', port, { clientId: 'bench' });
  try {
    for (const t of topicsFor(count)) {
      const res = await c.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: t.name, numPartitions: t.partitions, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: timeoutMs,
        validateOnly: false,
      });
      const r = res.topics[0]!;
      if (r.errorCode !== 0) throw new Error(`CreateTopics ${t.name}: error ${r.errorCode} ${r.errorMessage ?? ''}`);
    }
  } finally {
    c.close();
  }
}

/** One record to every partition, one request per topic, acks=all; retried until all answer 0. */
async function produceAll(port: number, count: number): Promise<void> {
  const c = await ClientConnection.connect('127.0.0.1', port, { clientId: 'bench' });
  const batch = buildBatch(100, 1);
  const deadline = Date.now() + timeoutMs;
  try {
    for (const t of topicsFor(count)) {
      let todo = Array.from({ length: t.partitions }, (_, i) => i);
      while (todo.length) {
        const frame = buildProduceFrame(t.name, todo, batch, -1, 30_000);
        const res = await c.exchange(ApiKey.Produce, PRODUCE_VERSION, frame);
        const failed = res.responses.flatMap((r) => r.partitionResponses).filter((p) => p.errorCode !== 0);
        if (failed.length && Date.now() > deadline) throw new Error(`${t.name}: ${failed.length} partitions refuse produce (error ${failed[0]!.errorCode})`);
        todo = failed.map((p) => p.index);
        if (todo.length) await sleep(100);
      }
    }
  } finally {
    c.close();
  }
}

interface Row {
  broker: string;
  partitions: number;
  startMs?: number;
  createMs?: number;
  produceMs?: number;
  rssAfterProduce?: number;
  fdsAfterProduce?: number;
  stopMs?: number;
  restartMs?: number;
  rssAfterRestart?: number;
  fdsAfterRestart?: number;
  error?: string;
}

async function measure(name: string, b: Broker, port: number, dir: string, count: number): Promise<Row> {
  const row: Row = { broker: name, partitions: count };
  const alive = (): boolean => {
    try {
      process.kill(b.pid(), 0);
      return true;
    } catch {
      return false;
    }
  };
  let step = 'start';
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let t0 = Date.now();
    await b.start(true);
    row.startMs = Date.now() - t0;
    step = 'create';
    t0 = Date.now();
    await createAll(port, count);
    await waitLed(port, count, alive);
    row.createMs = Date.now() - t0;
    step = 'produce';
    t0 = Date.now();
    await produceAll(port, count);
    row.produceMs = Date.now() - t0;
    row.rssAfterProduce = rssMiB(b.pid());
    row.fdsAfterProduce = descriptors(b.pid());
    step = 'stop';
    t0 = Date.now();
    await b.stop();
    row.stopMs = Date.now() - t0;
    step = 'restart';
    t0 = Date.now();
    await b.start(false);
    await waitLed(port, count, alive);
    row.restartMs = Date.now() - t0;
    row.rssAfterRestart = rssMiB(b.pid());
    row.fdsAfterRestart = descriptors(b.pid());
    await b.stop();
  } catch (err) {
    row.error = `${step}: ${(err as Error).message.split('\n')[0]}`;
    const log = existsSync(b.logFile) ? readFileSync(b.logFile, 'utf8') : '';
    const emfile = log.split('\n').filter((l) => /Too many open files|EMFILE/.test(l)).length;
    if (emfile) row.error += `; its log has ${emfile} lines on running out of file descriptors (${b.logFile})`;
    b.kill();
  }
  return row;
}

const HEADERS = ['broker', 'partitions', 'start (s)', 'create (s)', 'produce (s)', 'RSS (MiB)', 'fds', 'stop (s)', 'restart (s)', 'RSS after restart (MiB)', 'fds after restart', 'error'];
const sec = (ms: number | undefined): Cell => (ms === undefined ? null : (ms / 1000).toFixed(1));
const cells = (r: Row): Cell[] => [
  r.broker, r.partitions, sec(r.startMs), sec(r.createMs), sec(r.produceMs), r.rssAfterProduce ?? null, r.fdsAfterProduce ?? null,
  sec(r.stopMs), sec(r.restartMs), r.rssAfterRestart ?? null, r.fdsAfterRestart ?? null, r.error ?? '',
];

function machine(): string {
  // java -version writes to stderr.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] ?? '';
  return [...machineLines(v['data-dir']!), java].join('\n');
}

function writeSection(rows: Row[], startedAt: Date, minutes: number): void {
  const text = [
    SECTION,
    '',
    `Written by \`bench/partitions-scale\` on ${startedAt.toISOString()} (run took ${minutes.toFixed(1)} min).`,
    '',
    '```',
    machine(),
    '```',
    '',
    `Settings: both brokers single-node (combined broker and controller), started under \`prlimit --nofile=${nofile}:${nofile}\`, ` +
      `topics of ${PER_TOPIC} partitions, replication factor 1, one 100-byte record produced to each partition (acks=all) before the restart; ` +
      `this broker with its defaults (one partition worker per core); Kafka 4.3.1 with a ${v['kafka-heap']} heap and its defaults. ` +
      'Start: spawn to the client port answering. Create and restart: until Metadata lists every partition with a leader. ' +
      'RSS: resident memory of the whole process.',
    '',
    '```sh',
    `node dist-bench/bench/partitions-scale.js --counts ${v.counts} --brokers ${v.brokers}`,
    '```',
    '',
    markdownTable(HEADERS, rows.map(cells)),
    '',
  ].join('\n');
  writeResultsSection(v.results!, SECTION, text);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const rows: Row[] = [];
  const counts = numberList(v.counts!);
  for (const name of v.brokers!.split(',')) {
    const port = name === 'kafka' ? Number(v['kafka-port']) : Number(v.port);
    const dir = `${v['data-dir']}/${name}`;
    const broker = name === 'kafka' ? kafka(port, dir) : name === 'ours' ? ours(port, dir) : undefined;
    if (!broker) throw new Error(`unknown broker ${name} (ours, kafka)`);
    for (const count of counts) {
      process.stdout.write(`${name} ${count} partitions ... `);
      const row = await measure(name, broker, port, dir, count);
      rows.push(row);
      console.log(row.error ?? `restart ${sec(row.restartMs)} s, RSS ${row.rssAfterRestart} MiB`);
      if (row.error) break;
    }
    rmSync(broker.dataDir, { recursive: true, force: true });
  }
  console.log(plainTable(HEADERS, rows.map(cells)));
  writeSection(rows, startedAt, (Date.now() - startedAt.getTime()) / 60_000);
}

await main();
