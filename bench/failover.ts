/**
 * Metadata quorum figures on a three-broker cluster of real processes on loopback.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist-bench/bench/failover.js [--kills=20] [--creates=50] [--election-timeout-ms=1000]
 *
 * Failover: `kills` times, SIGKILL the active controller (the Raft leader, as DescribeCluster names it)
 * and measure from the kill
 *   - to the first DescribeCluster answer from a survivor naming another live controller;
 *   - to the success of a CreateTopics sent to a survivor right after the kill (it is retried
 *     inside the broker until a new controller commits it), i.e. until metadata writes work;
 * then restart the killed broker on its data dir and measure until its client port opens, and
 * from then until its own DescribeCluster names the current controller. A restarted broker that
 * misses the publication of its own registration or catch-up waits for the next metadata
 * change; after NUDGE_AFTER_MS the run commits an unrelated topic to provide one, and counts
 * the restarts that needed it.
 *
 * Commit latency: `creates` sequential CreateTopics (3 partitions each) sent to the controller
 * and as many sent to a follower (which forwards to the controller); each is answered after
 * its records commit on a majority and the receiving broker has applied them.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { plainTable, type Cell } from './lib/table.js';
import {
  activeController, agreedController, CLUSTER_SETTINGS, createTopics, killAndAwaitNewController, startCluster, waitFor,
  type Cluster,
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
/** How long a restarted broker gets to open its port, or to name the controller, before a nudge. */
const NUDGE_AFTER_MS = 5_000;
const SETTINGS: Record<string, string | number> = { ...CLUSTER_SETTINGS, 'controller.quorum.election.timeout.ms': ELECTION_TIMEOUT_MS };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(label: string, samples: number[]): Cell[] {
  const s = [...samples].sort((a, b) => a - b);
  if (s.length === 0) return [label, 0, null, null, null, null, null];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return [label, s.length, s[0]!, percentile(s, 50), mean, percentile(s, 99), s[s.length - 1]!];
}

async function timedCreate(port: number, name: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const [r] = await createTopics(port, [name], { partitions: 3, timeoutMs });
  if (r!.errorCode !== 0) throw new Error(`CreateTopics ${name} on port ${port}: error ${r!.errorCode} ${r!.errorMessage ?? ''}`);
  return performance.now() - started;
}

/** The controller a majority of the running brokers name (a restarted broker may lag). */
function majorityController(cluster: Cluster): Promise<number> {
  return waitFor('a majority names a running controller', 30_000, async () => {
    const live = cluster.running();
    const ids = await Promise.all(live.map((b) => activeController(b.port, 3000).catch(() => -1)));
    return ids.find((id) => live.some((b) => b.nodeId === id) && ids.filter((x) => x === id).length >= 2);
  });
}

interface Failovers {
  elected: number[];
  writable: number[];
  /** From the restart to the restarted broker's client port opening. */
  opened: number[];
  /** From the port opening until the restarted broker's DescribeCluster names the current controller. */
  caughtUp: number[];
  /** Restarts whose port opened only after a later metadata change. */
  stuckClosed: number;
  /** Restarts that served stale metadata until a later metadata change. */
  stuckStale: number;
}

/**
 * Waits for `done`; each time NUDGE_AFTER_MS pass without it, commits an unrelated topic
 * through `port` (a restarted broker that missed the publication of its own catch-up only
 * learns of it with the next metadata change) and counts that.
 */
async function nudgeUntil(done: () => Promise<boolean>, port: number, tag: string): Promise<number> {
  let nudges = 0;
  for (;;) {
    if (await done()) return nudges;
    nudges++;
    await createTopics(port, [`nudge-${tag}-${nudges}`], { partitions: 1, timeoutMs: 10_000 });
  }
}

async function failovers(cluster: Cluster): Promise<Failovers> {
  const out: Failovers = { elected: [], writable: [], opened: [], caughtUp: [], stuckClosed: 0, stuckStale: 0 };
  for (let i = 0; i < KILLS; i++) {
    const old = await majorityController(cluster);
    const via = cluster.brokers.find((b) => b.nodeId !== old)!;
    let created: Promise<number> | undefined;
    const { ms, controller } = await killAndAwaitNewController(cluster, old, 30_000, (killedAt) => {
      created = timedCreate(via.port, `failover-${i}`, 30_000).then(() => performance.now() - killedAt);
      // Awaited once the election is measured; until then a failure must not count as unhandled.
      created.catch(() => undefined);
    });
    out.elected.push(ms);
    const writable = await created!;
    out.writable.push(writable);

    const restartedAt = performance.now();
    const restart = cluster.broker(old).restart();
    let open = false;
    restart.then(() => (open = true), () => undefined);
    const waitOpen = async (): Promise<boolean> => {
      await Promise.race([restart, sleep(NUDGE_AFTER_MS)]);
      return open;
    };
    const closedNudges = await nudgeUntil(waitOpen, via.port, `${i}-open`);
    await restart;
    const openedAt = performance.now();
    out.opened.push(openedAt - restartedAt);
    const namesController = async (): Promise<boolean> => {
      const deadline = performance.now() + NUDGE_AFTER_MS;
      while (performance.now() < deadline) {
        if ((await activeController(cluster.broker(old).port, 3000)) === controller) return true;
        await sleep(10);
      }
      return false;
    };
    const staleNudges = await nudgeUntil(namesController, via.port, `${i}-stale`);
    out.caughtUp.push(performance.now() - openedAt);
    if (closedNudges > 0) out.stuckClosed++;
    if (staleNudges > 0) out.stuckStale++;
    const notes = [closedNudges > 0 ? 'port opened only after a metadata change' : '', staleNudges > 0 ? 'stale until a metadata change' : ''].filter(Boolean);
    process.stderr.write(
      `kill ${i + 1}/${KILLS}: controller ${old} -> ${controller} in ${ms.toFixed(0)} ms, creates work after ${writable.toFixed(0)} ms, ` +
        `restarted broker up to date after ${(performance.now() - restartedAt).toFixed(0)} ms${notes.length ? ` (${notes.join('; ')})` : ''}\n`,
    );
  }
  return out;
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
      `restarts that needed a later metadata change (after ${NUDGE_AFTER_MS} ms) to open the client port: ${failover.stuckClosed} of ${KILLS}; ` +
        `to serve current metadata: ${failover.stuckStale} of ${KILLS}`,
    ];
    const headers = ['measure (ms)', 'n', 'min', 'p50', 'mean', 'p99', 'max'];
    const rows = [
      summary('kill -> new controller in Metadata', failover.elected),
      summary('kill -> CreateTopics succeeds', failover.writable),
      summary('restart -> client port open', failover.opened),
      summary('port open -> names the controller', failover.caughtUp),
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
