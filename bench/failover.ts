/**
 * Metadata quorum figures on a three-broker cluster of real processes on loopback.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist-bench/bench/failover.js [--kills=20] [--creates=50] [--election-timeout-ms=1000]
 *
 * Failover: `kills` times, SIGKILL the broker Metadata names as controller (the Raft leader)
 * and measure from the kill
 *   - to the first Metadata answer from a survivor naming another live controller;
 *   - to the success of a CreateTopics sent to a survivor right after the kill (it is retried
 *     inside the broker until a new controller commits it), i.e. until metadata writes work;
 * then restart the killed broker on its data dir and wait until all three agree again.
 *
 * Commit latency: `creates` sequential CreateTopics (3 partitions each) sent to the controller
 * and as many sent to a follower (which forwards to the controller); each is answered after
 * its records commit on a majority and the receiving broker has applied them.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { plainTable, type Cell } from './lib/table.js';
import {
  agreedController, CLUSTER_SETTINGS, createTopics, killAndAwaitNewController, startCluster, type Cluster,
} from '../test/cluster/fixtures/cluster.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    creates: { type: 'string', default: '50' },
    'election-timeout-ms': { type: 'string', default: String(CLUSTER_SETTINGS['controller.quorum.election.timeout.ms']) },
  },
});
const KILLS = Number(values.kills);
const CREATES = Number(values.creates);
const ELECTION_TIMEOUT_MS = Number(values['election-timeout-ms']);
const SETTINGS: Record<string, string | number> = { ...CLUSTER_SETTINGS, 'controller.quorum.election.timeout.ms': ELECTION_TIMEOUT_MS };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(label: string, samples: number[]): Cell[] {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return [label, s.length, s[0]!, percentile(s, 50), mean, percentile(s, 99), s[s.length - 1]!];
}

async function timedCreate(port: number, name: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const [r] = await createTopics(port, [name], { partitions: 3, timeoutMs });
  if (r!.errorCode !== 0) throw new Error(`CreateTopics ${name} on port ${port}: error ${r!.errorCode} ${r!.errorMessage ?? ''}`);
  return performance.now() - started;
}

async function failovers(cluster: Cluster): Promise<{ elected: number[]; writable: number[] }> {
  const elected: number[] = [];
  const writable: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    const old = await agreedController(cluster, 30_000);
    const via = cluster.brokers.find((b) => b.nodeId !== old)!;
    let created: Promise<number> | undefined;
    const { ms, controller } = await killAndAwaitNewController(cluster, old, 30_000, (killedAt) => {
      created = timedCreate(via.port, `failover-${i}`, 30_000).then(() => performance.now() - killedAt);
      // Awaited once the election is measured; until then a failure must not count as unhandled.
      created.catch(() => undefined);
    });
    elected.push(ms);
    writable.push(await created!);
    process.stderr.write(`kill ${i + 1}/${KILLS}: controller ${old} -> ${controller} in ${ms.toFixed(0)} ms, creates work after ${writable[i]!.toFixed(0)} ms\n`);
    await cluster.broker(old).restart();
  }
  await agreedController(cluster, 30_000);
  return { elected, writable };
}

async function commitLatency(cluster: Cluster): Promise<{ toController: number[]; toFollower: number[] }> {
  const controller = await agreedController(cluster, 30_000);
  const follower = cluster.brokers.find((b) => b.nodeId !== controller)!;
  const toController: number[] = [];
  const toFollower: number[] = [];
  for (let i = 0; i < CREATES; i++) toController.push(await timedCreate(cluster.broker(controller).port, `commit-c-${i}`, 10_000));
  for (let i = 0; i < CREATES; i++) toFollower.push(await timedCreate(follower.port, `commit-f-${i}`, 10_000));
  return { toController, toFollower };
}

async function main(): Promise<void> {
  const cluster = await startCluster(SETTINGS);
  let code = 0;
  try {
    const latency = await commitLatency(cluster);
    const failover = await failovers(cluster);
    const settings = [
      `3 brokers (node dist/main.js) on 127.0.0.1, ${os.cpus().length} CPUs, Node ${process.version}`,
      `controller.quorum.election.timeout.ms=${ELECTION_TIMEOUT_MS} broker.session.timeout.ms=${SETTINGS['broker.session.timeout.ms']} ` +
        `broker.heartbeat.interval.ms=${SETTINGS['broker.heartbeat.interval.ms']} num.partition.workers=${SETTINGS['num.partition.workers']}`,
      `${KILLS} SIGKILLs of the controller (restarted after each); ${CREATES} sequential CreateTopics (3 partitions) per row`,
    ];
    const headers = ['measure (ms)', 'n', 'min', 'p50', 'mean', 'p99', 'max'];
    const rows = [
      summary('kill -> new controller in Metadata', failover.elected),
      summary('kill -> CreateTopics succeeds', failover.writable),
      summary('CreateTopics to the controller', latency.toController),
      summary('CreateTopics to a follower', latency.toFollower),
    ];
    process.stdout.write(`${settings.join('\n')}\n\n${plainTable(headers, rows)}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).stack}\n${cluster.output()}\n`);
    code = 1;
  } finally {
    await cluster.stopAll();
    cluster.cleanup();
  }
  process.exitCode = code;
}

void main();
