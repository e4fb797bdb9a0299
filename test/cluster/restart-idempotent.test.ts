// Twenty broker restarts under an idempotent producer. Three brokers, replication factor 3,
// min.insync.replicas=2; librdkafka's idempotent producer (acks=all, five requests in flight)
// writes all the time while one broker after another is stopped (SIGKILL and SIGTERM in turn)
// and started again, each time once the producer has had acknowledgements since the previous
// restart, and the next only once the restarted broker is back in every ISR.
//
// At the end: the producer never hit a fatal error (a broker that answers for a leadership it
// no longer has shows up as OUT_OF_ORDER_SEQUENCE_NUMBER), every acknowledged record is in the
// log exactly once at the offset it was acknowledged with, no record is there twice, and no
// broker ever began leading a partition at a leader epoch older than one the cluster had
// already given (read from the brokers' own "leading partition" log lines).
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CheckerCluster } from '../checker/cluster.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { commandWorks } from '../clients/harness.js';
import { waitFor } from './fixtures/cluster.js';

const PYTHON = '/usr/bin/python3';
const PRODUCER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/steady_producer.py');
const TOPIC = 'restarts';
const PARTITIONS = 3;
const RESTARTS = 20;
const RATE = 400;

interface ProducerReport {
  acked: [number, number, string][];
  errors: string[];
  fatal: string | null;
  undelivered: number;
}

/** The idempotent producer as a child process: its acknowledgement count, and its report once stdin closes. */
function startProducer(bootstrap: string) {
  const child = spawn(PYTHON, [PRODUCER, bootstrap, TOPIC, String(PARTITIONS), String(RATE), 'r'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let acked = 0;
  let stderr = '';
  let report: ProducerReport | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const m = JSON.parse(line) as { acked: number } | ProducerReport;
    if (typeof m.acked === 'number') acked = m.acked;
    else report = m as ProducerReport;
  });
  return {
    acked: () => acked,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    async finish(): Promise<ProducerReport> {
      child.stdin.end();
      await exited;
      if (report === undefined) throw new Error(`the producer printed no report (exit ${child.exitCode}): ${stderr}`);
      return report;
    },
    kill: () => child.kill('SIGKILL'),
  };
}

interface Leading { at: number; broker: number; partition: number; leaderEpoch: number }

/** Every "leading partition" line of the topic in the brokers' pino output, oldest first. */
function leaderships(cluster: CheckerCluster): Leading[] {
  const out: Leading[] = [];
  for (const b of cluster.brokers) {
    for (const line of b.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      let rec: { msg?: string; time?: number; topic?: string; partition?: number; leaderEpoch?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue;
      }
      if (rec.msg !== 'leading partition' || rec.topic !== TOPIC) continue;
      out.push({ at: rec.time!, broker: b.nodeId, partition: rec.partition!, leaderEpoch: rec.leaderEpoch! });
    }
  }
  return out.sort((a, b) => a.at - b.at || a.leaderEpoch - b.leaderEpoch);
}

/** Leaderships taken at an epoch no newer than one some broker had already led the partition at. */
function staleLeaderships(lines: Leading[]): string[] {
  const newest = new Map<number, Leading>();
  const stale: string[] = [];
  for (const l of lines) {
    const before = newest.get(l.partition);
    if (before !== undefined && l.leaderEpoch <= before.leaderEpoch) {
      stale.push(`broker ${l.broker} led partition ${l.partition} at epoch ${l.leaderEpoch} at ${l.at}, after broker ${before.broker} at epoch ${before.leaderEpoch} at ${before.at}`);
    }
    if (before === undefined || l.leaderEpoch > before.leaderEpoch) newest.set(l.partition, l);
  }
  return stale;
}

const noPython = !commandWorks(PYTHON, ['-c', 'import confluent_kafka']) && `confluent_kafka not importable by ${PYTHON}`;

t.test('twenty restarts under an idempotent producer: nothing lost, nothing twice, no stale leader', { skip: noPython }, async (t) => {
  // The "leading partition" lines are info level.
  process.env.LOG_LEVEL = 'info';
  const started = Date.now();
  const cluster = await CheckerCluster.start({}, true);
  let producer: ReturnType<typeof startProducer> | undefined;
  t.teardown(() => {
    producer?.kill();
    if (!t.passing()) t.comment(cluster.output().split('\n').filter((l) => !l.includes('"level":30')).slice(-200).join('\n'));
    cluster.cleanup();
  });
  await cluster.createTopic(TOPIC, PARTITIONS);
  producer = startProducer(cluster.brokers.map((b) => b.bootstrap).join(','));
  const p = producer;

  const sigtermExits: (number | null)[] = [];
  let ackedBefore = 0;
  for (let i = 0; i < RESTARTS; i++) {
    // Each restart happens while acknowledgements flow: some came since the previous one.
    await waitFor(`acknowledgements before restart ${i + 1}`, 60_000, async () => {
      if (!p.alive()) throw new Error(`the producer exited: ${p.stderr()}`);
      return p.acked() > ackedBefore ? true : undefined;
    }, 50);
    ackedBefore = p.acked();
    const view = await cluster.view(TOPIC);
    const victim = cluster.broker(view[i % PARTITIONS]!.leader);
    if (i % 2 === 0) await victim.kill('SIGKILL');
    else sigtermExits.push(await victim.stop(20_000));
    await victim.restart();
    await cluster.waitFullIsr(TOPIC, 60_000);
  }
  await waitFor('acknowledgements after the last restart', 60_000, async () => (p.acked() > ackedBefore ? true : undefined), 50);
  const report = await p.finish();
  const restartsDone = Date.now();

  t.same(sigtermExits, new Array(RESTARTS / 2).fill(0), 'every SIGTERM-stopped broker exited 0');
  t.equal(report.fatal, null, 'the idempotent producer hit no fatal error');
  t.same({ errors: report.errors, undelivered: report.undelivered }, { errors: [], undelivered: 0 }, 'every record was acknowledged, none failed');

  const logged = new Map<number, Map<string, number[]>>();
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const byValue = new Map<string, number[]>();
    const records = await waitFor(`partition ${partition} read back from its leader`, 30_000, async () => {
      const leader = (await cluster.view(TOPIC))[partition]!.leader;
      const client = await WireClient.connect(cluster.broker(leader).port);
      try {
        return (await readPartition(client, TOPIC, partition)).records;
      } finally {
        client.close();
      }
    });
    for (const r of records) {
      const v = r.value!.toString();
      byValue.set(v, [...(byValue.get(v) ?? []), r.offset]);
    }
    logged.set(partition, byValue);
  }
  const missing = report.acked.filter(([partition, offset, value]) => {
    const at = logged.get(partition)!.get(value);
    return at === undefined || !at.includes(offset);
  });
  const twice = [...logged.values()].flatMap((m) => [...m].filter(([, offsets]) => offsets.length > 1).map(([v, offsets]) => `${v}@${offsets}`));
  t.ok(report.acked.length > RESTARTS * 100, `the producer had ${report.acked.length} records acknowledged across the restarts`);
  t.same(missing.slice(0, 10), [], `every acknowledged record is in the log at its acknowledged offset (${missing.length} are not)`);
  t.same(twice.slice(0, 10), [], `no record is in the log twice (${twice.length} are)`);

  const lines = leaderships(cluster);
  t.ok(lines.length >= PARTITIONS, `${lines.length} leaderships logged`);
  t.same(staleLeaderships(lines), [], 'no broker began leading a partition at an epoch the cluster had already given or passed');
  t.comment(`${RESTARTS} restarts in ${((restartsDone - started) / 1000).toFixed(0)} s; ${report.acked.length} records acknowledged`);
});
