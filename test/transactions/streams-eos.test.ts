// A Kafka Streams application (Kafka 4.3's kafka-streams) with
// processing.guarantee=exactly_once_v2 counts the words of a few thousand lines on three
// brokers (replication factor 3, min.insync.replicas 2) while the leader of an output
// partition and then the transaction coordinator of the application's transactional id are
// SIGKILLed and restarted. The lines go in through an idempotent producer the whole time;
// once the application has committed its position at the end of the input (and of its own
// repartition topic) it is stopped and a read_committed consumer reads the output: the last
// count of every word is its count in the lines produced, and each word's counts are 1, 2,
// 3, ... with none repeated (a record processed twice) or missing (one lost). Runs when java, javac and mvn are installed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { hasCommand } from '../helpers/broker.js';
import { rng } from '../protocol/schema-values.js';
import { call, metadata, startCluster, waitFor, type Cluster } from '../cluster/fixtures/cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const appDir = path.join(here, 'streams');
const INPUT = 'wc-lines';
const OUTPUT = 'wc-counts';
const APP_ID = 'wc-eos';
/** Where the application's first sub-topology (split into words, keyed by word) hands over to the counting one. */
const REPARTITION = `${APP_ID}-counts-repartition`;
const PARTITIONS = 4;
/** Lines go in 25 at a time, one batch every 40 ms: about 600 lines a second, so the
 *  application is mid-transaction whenever a broker is killed. */
const BATCH = 25;
const BATCH_EVERY_MS = 40;
/** Lines produced after the second restart, while that broker catches up. */
const TAIL_LINES = 500;
const WORDS = Array.from({ length: 120 }, (_, i) => `w${i}`);

const haveJava = hasCommand('mvn') && hasCommand('javac') && hasCommand('java');

/** Maven Central's jars into lib/ (once), moved into place whole so an interrupted fetch leaves none. */
function fetchJars(): string {
  const lib = path.join(appDir, 'lib');
  if (!fs.existsSync(lib)) {
    const partial = `${lib}.partial-${process.pid}`;
    execFileSync('mvn', ['-q', '-B', '-f', path.join(appDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${partial}`, '-DincludeScope=runtime'], { stdio: 'ignore', timeout: 600_000 });
    fs.renameSync(partial, lib);
  }
  return lib;
}

/** A Java process of WordCount.java whose stdout is read line by line. */
interface JavaProcess {
  mode: string;
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the first line (from now on) that `match` accepts; rejects if the process exits first. */
  next(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
}

function java(classpath: string, args: string[]): JavaProcess {
  const proc = spawn('java', ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  proc.stdin!.on('error', () => {});
  const lines: string[] = [];
  const waiters = new Set<(line: string | null) => void>();
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of waiters) w(line);
  });
  proc.once('exit', () => {
    for (const w of waiters) w(null);
  });
  return {
    mode: args[1]!,
    proc,
    lines,
    stderr: () => err,
    next: (match, timeoutMs) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`java ${args[1]}: no matching line within ${timeoutMs} ms`)), timeoutMs);
      const done = (outcome: string | Error): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const waiter = (line: string | null): void => {
        if (line === null) done(new Error(`java ${args[1]} exited (${proc.exitCode ?? proc.signalCode}):\n${err.slice(-3000)}`));
        else if (match(line)) done(line);
      };
      if (proc.exitCode !== null || proc.signalCode !== null) waiter(null);
      else waiters.add(waiter);
    }),
  };
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

t.test('Kafka Streams exactly_once_v2: exact word counts through a leader and a coordinator SIGKILL', { skip: !haveJava && 'mvn, javac or java not installed' }, async (t) => {
  const started = Date.now();
  const note = (what: string): void => t.comment(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const lib = fetchJars();
  const classes = path.join(appDir, 'classes');
  const source = path.join(appDir, 'WordCount.java');
  const compiled = path.join(classes, 'WordCount.class');
  if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < fs.statSync(source).mtimeMs) {
    execFileSync('javac', ['-cp', `${lib}/*`, '-d', classes, source], { timeout: 120_000 });
  }
  const classpath = `${classes}:${lib}/*`;

  const cluster: Cluster = await startCluster({
    'default.replication.factor': 3,
    'min.insync.replicas': 2,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.num.partitions': 3,
  });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'streams-eos-'));
  const javas: JavaProcess[] = [];
  t.teardown(() => {
    if (!t.passing()) {
      for (const j of javas) t.comment(`java ${j.mode} log (tail):\n${j.stderr().slice(-4000)}`);
      t.comment(`brokers (tail):\n${cluster.output().split('\n').slice(-80).join('\n')}`);
    }
    for (const j of javas) j.proc.kill('SIGKILL');
    cluster.cleanup();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
  const anyPort = (): number => cluster.running()[0]!.port;
  const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(',');

  const created = await call<{ topics: { name: string; errorCode: number }[] }>(anyPort(), ApiKey.CreateTopics, 7, {
    topics: [INPUT, OUTPUT].map((name) => ({ name, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] })),
    timeoutMs: 15_000,
    validateOnly: false,
  }, 30_000);
  t.same(created.topics.map((x) => x.errorCode), [ErrorCode.NONE, ErrorCode.NONE], 'input and output topics created with replication factor 3');

  const app = java(classpath, ['WordCount', 'streams', bootstrap, INPUT, OUTPUT, APP_ID, stateDir]);
  const producer = java(classpath, ['WordCount', 'produce', bootstrap, INPUT]);
  javas.push(app, producer);
  const appFailed = (): string | undefined => (app.lines.includes('state ERROR') || app.proc.exitCode !== null || app.proc.signalCode !== null ? `the application failed:\n${app.stderr().slice(-3000)}` : undefined);
  await app.next((l) => l === 'state RUNNING', 90_000);
  note('the application is running');

  /** Retries `probe` until it gives a value; gives up at once if the application has failed. */
  const until = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> => waitFor(what, timeoutMs, async () => {
    const failed = appFailed();
    if (failed) throw new Error(failed);
    return probe();
  });
  const runningPort = (nodeId: number): number | undefined => cluster.running().find((b) => b.nodeId === nodeId)?.port;
  const leaderOf = async (topic: string, partition: number): Promise<number | undefined> => {
    const md = await metadata(anyPort(), [topic]);
    const leader = md.topics[0]?.partitions.find((p) => p.partitionIndex === partition)?.leaderId ?? -1;
    return runningPort(leader) === undefined ? undefined : leader;
  };
  /** Every partition of every topic led by a running broker with all three replicas in sync. */
  const healed = async (): Promise<true | undefined> => {
    const md = await metadata(anyPort());
    const ok = md.topics.length > 0 && md.topics.every((tp) => tp.errorCode === ErrorCode.NONE && tp.partitions.every((p) => runningPort(p.leaderId) !== undefined && p.isrNodes.length === 3));
    return ok ? true : undefined;
  };
  const kill = async (nodeId: number): Promise<void> => {
    await cluster.broker(nodeId).kill('SIGKILL');
    note(`SIGKILLed broker ${nodeId}`);
  };
  const restart = async (nodeId: number): Promise<void> => {
    await cluster.broker(nodeId).restart();
    note(`broker ${nodeId} restarted`);
  };

  let faultsDone = false;
  const faults = (async () => {
    // Committed output first, so the application is running transactions when the leader dies.
    await until('committed output', 60_000, async () => {
      const port = runningPort((await leaderOf(OUTPUT, 0)) ?? -1);
      if (port === undefined) return undefined;
      const r = await call<any>(port, ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 1, topics: [{ name: OUTPUT, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
      return (r.topics[0].partitions[0].offset as number) > 0 ? true : undefined;
    });
    const outputLeader = await until(`leader of ${OUTPUT}-0`, 30_000, () => leaderOf(OUTPUT, 0));
    await kill(outputLeader);
    await until(`a new leader of ${OUTPUT}-0`, 30_000, () => leaderOf(OUTPUT, 0));
    await restart(outputLeader);
    // Both brokers dead at once would leave fewer in-sync replicas than min.insync.replicas.
    await until(`broker ${outputLeader} back in sync`, 60_000, healed);
    note('every replica in sync');

    const txnIds = await until('the application\'s transactional id', 30_000, async () => {
      const ids = new Set<string>();
      for (const b of cluster.running()) {
        const r = await call<{ errorCode: number; transactionStates: { transactionalId: string }[] }>(b.port, ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
        for (const s of r.transactionStates) if (s.transactionalId.startsWith(`${APP_ID}-`)) ids.add(s.transactionalId);
      }
      return ids.size > 0 ? [...ids] : undefined;
    });
    const coordinatorOf = (id: string) => until(`coordinator of ${id}`, 30_000, async () => {
      const r = await call<{ errorCode: number; nodeId: number }>(anyPort(), ApiKey.FindCoordinator, 3, { key: id, keyType: 1 });
      return r.errorCode === ErrorCode.NONE && runningPort(r.nodeId) !== undefined ? r.nodeId : undefined;
    });
    const coordinator = await coordinatorOf(txnIds[0]!);
    t.comment(`transactional ids ${txnIds.join(', ')}; coordinator broker ${coordinator}`);
    await kill(coordinator);
    await coordinatorOf(txnIds[0]!);
    await restart(coordinator);
    faultsDone = true;
  })();

  // The input: lines of 3 to 8 words from a seeded generator, counted here as they are sent.
  const random = rng(16);
  const expected = new Map<string, number>();
  let produced = 0;
  let tail = 0;
  let faultError: unknown;
  faults.catch((err: unknown) => (faultError = err));
  while (tail < TAIL_LINES && faultError === undefined) {
    const batch: string[] = [];
    for (let i = 0; i < BATCH; i++) {
      const words = Array.from({ length: 3 + Math.floor(random() * 6) }, () => WORDS[Math.floor(random() * WORDS.length)]!);
      for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1);
      batch.push(words.join(' '));
    }
    produced += BATCH;
    if (faultsDone) tail += BATCH;
    const acked = producer.next((l) => l === `acked ${produced}`, 120_000);
    producer.proc.stdin!.write(`${batch.join('\n')}\n\n`);
    await Promise.all([acked, delay(BATCH_EVERY_MS)]);
  }
  await faults;
  producer.proc.stdin!.end();
  await exited(producer.proc);
  note(`${produced} lines produced`);

  const admin = new Kafka({ clientId: 'streams-eos-check', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const inputEnds = await admin.fetchTopicOffsets(INPUT);
  t.equal(inputEnds.reduce((n, p) => n + Number(p.high), 0), produced, 'the input topic holds every line once');
  // The application's committed positions move in the same transactions as its output: once
  // both sub-topologies have committed the end of what they read, the output is complete.
  await until('the application at the end of its input', 60_000, async () => {
    for (const topic of [INPUT, REPARTITION]) {
      const [committed] = await admin.fetchOffsets({ groupId: APP_ID, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      // A partition the application never committed a position for shows -1.
      const behind = ends.filter((e) => Math.max(0, Number(committed!.partitions.find((p) => p.partition === e.partition)?.offset ?? -1)) !== Number(e.high));
      if (behind.length > 0) throw new Error(`${topic}: committed ${committed!.partitions.map((p) => `${p.partition}@${p.offset}`).join(' ')}, ends ${ends.map((e) => `${e.partition}@${e.high}`).join(' ')}`);
    }
    return true;
  });
  note('the application has committed the end of its input');
  app.proc.kill('SIGTERM');
  await exited(app.proc);
  t.notOk(app.lines.includes('state ERROR'), 'the application never failed');

  const dump = java(classpath, ['WordCount', 'dump', bootstrap, OUTPUT]);
  javas.push(dump);
  await exited(dump.proc);
  note(`read ${dump.lines.length} counts`);
  if (dump.proc.exitCode !== 0) t.comment(dump.stderr().slice(-3000));
  const counts = new Map<string, number[]>();
  for (const line of dump.lines) {
    const [, word, count] = line.split(' ');
    counts.set(word!, [...(counts.get(word!) ?? []), Number(count)]);
  }
  const sorted = <T>(m: Map<string, T>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
  t.same(sorted(new Map([...counts].map(([w, c]) => [w, c.at(-1)]))), sorted(expected), 'read_committed: the last count of every word is exact');
  const broken = [...counts].flatMap(([w, c]) => {
    const at = c.findIndex((n, i) => n !== i + 1);
    return at < 0 ? [] : [`${w}: count ${at + 1} is ${c[at]} (${c.slice(Math.max(0, at - 2), at + 3).join(', ')})`];
  });
  t.same(broken, [], 'read_committed: every word\'s counts go 1, 2, 3, ... with none repeated or missing');
});
