import { raftStatsBuffer } from '../../src/shared/metrics/raft-stats.js';
import { threadStatsLayout } from '../../src/shared/metrics/thread-stats.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { freePort } from '../helpers/broker.js';
import { ErrorCode } from '../../src/shared/errors.js';
import type {
  AdminRequest,
  MainToRaftMessage,
  MetadataSnapshot,
  RaftToMainMessage,
  RaftWorkerData,
  TopicResult,
} from '../../src/shared/metadata-types.js';

/** The main thread's side of the raft worker, as the broker uses it. */
class RaftWorkerHandle {
  private readonly worker: Worker;
  first: MetadataSnapshot | undefined;
  latest: MetadataSnapshot | undefined;
  private readonly waiters: { pred: (s: MetadataSnapshot) => boolean; resolve: (s: MetadataSnapshot) => void }[] = [];
  private readonly pending = new Map<number, (r: TopicResult[]) => void>();
  private nextId = 1;
  private readonly stoppedPromise: Promise<void>;

  constructor(data: RaftWorkerData) {
    this.worker = new Worker(new URL('../../src/workers/raft/worker.ts', import.meta.url), {
      workerData: data,
      env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error' },
    });
    let stopped!: () => void;
    this.stoppedPromise = new Promise((resolve) => (stopped = resolve));
    this.worker.on('message', (m: RaftToMainMessage) => {
      if (m.type === 'metadata') {
        this.first ??= m.snapshot;
        this.latest = m.snapshot;
        for (const w of [...this.waiters]) {
          if (w.pred(m.snapshot)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(m.snapshot);
          }
        }
      } else if (m.type === 'response') {
        this.pending.get(m.id)?.(m.results);
        this.pending.delete(m.id);
      } else if (m.type === 'stopped') {
        stopped();
      } else if (m.type === 'fatal') {
        throw new Error(`raft worker failed: ${m.message}`);
      }
    });
  }

  /** Generous by default: loading the TypeScript sources into a fresh thread is slow on a busy machine. */
  waitFor(pred: (s: MetadataSnapshot) => boolean, timeoutMs = 60_000): Promise<MetadataSnapshot> {
    if (this.latest !== undefined && pred(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such snapshot; latest: ${JSON.stringify(this.latest)}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (s) => { clearTimeout(timer); resolve(s); } });
    });
  }

  request(req: AdminRequest): Promise<TopicResult[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ type: 'request', id, ...req } as MainToRaftMessage);
    });
  }

  /** Ends the thread at once, as a crash would: no controlled shutdown, no goodbye. */
  kill(): Promise<number> {
    return this.worker.terminate();
  }

  async stop(): Promise<number> {
    const exited = new Promise<number>((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'shutdown' } satisfies MainToRaftMessage);
    await this.stoppedPromise;
    return exited;
  }
}

const live = (s: MetadataSnapshot): boolean => s.clusterId !== '' && s.controllerId === 1 && s.brokers.some((b) => b.id === 1 && !b.fenced);

t.test('single node: topics are created, published, and survive a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'raft-worker-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const data: RaftWorkerData = {
    nodeId: 1,
    voters: [{ id: 1, host: '127.0.0.1', port }],
    controllerListen: { host: '127.0.0.1', port },
    metadataDir: dir,
    threadStats: threadStatsLayout(['main', 'raft']),
    raftStats: raftStatsBuffer(),
    advertised: { host: '127.0.0.1', port: 19092 },
    advertisedListeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19092 }],
    rack: null,
    settings: { numPartitions: 2, defaultReplicationFactor: 1, brokerSessionTimeoutMs: 9000, brokerHeartbeatIntervalMs: 200, electionTimeoutMs: 300 },
  };

  const first = new RaftWorkerHandle(data);
  t.teardown(() => first.kill());
  const ready = await first.waitFor(live);
  t.same(ready.brokers, [{ id: 1, host: '127.0.0.1', port: 19092, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19092 }], rack: null, fenced: false }], 'this broker registered, with its client listeners, and unfenced');
  t.match(ready.clusterId, /^[A-Za-z0-9_-]{22}$/, 'a generated cluster id');

  const created = await first.request({
    op: 'createTopics',
    topics: [
      { name: 'orders', numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } },
      { name: 'defaults', numPartitions: -1, replicationFactor: -1, configs: {} },
      { name: 'bad name', numPartitions: 1, replicationFactor: 1, configs: {} },
      { name: 'wide', numPartitions: 1, replicationFactor: 2, configs: {} },
    ],
    validateOnly: false,
    timeoutMs: 10_000,
  });
  t.same(created.map((r) => [r.name, r.errorCode, r.numPartitions]), [
    ['orders', ErrorCode.NONE, 3],
    ['defaults', ErrorCode.NONE, 2],
    ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION, undefined],
    ['wide', ErrorCode.INVALID_REPLICATION_FACTOR, undefined],
  ]);
  // The answer comes after commit, so the published image already holds the topics.
  const withTopics = await first.waitFor((s) => s.topics.length === 2, 1000);
  const orders = withTopics.topics.find((x) => x.name === 'orders')!;
  t.equal(orders.id, created[0]!.id);
  t.same(orders.configs, { 'retention.ms': '3600000' });
  t.same(orders.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr]), [[0, 1, [1], [1]], [1, 1, [1], [1]], [2, 1, [1], [1]]]);

  const again = await first.request({ op: 'createTopics', topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false, timeoutMs: 5000 });
  t.equal(again[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  const grown = await first.request({ op: 'createPartitions', topics: [{ name: 'orders', count: 4 }], validateOnly: false, timeoutMs: 5000 });
  t.equal(grown[0]!.errorCode, ErrorCode.NONE);
  const deleted = await first.request({ op: 'deleteTopics', topics: [{ name: 'defaults' }, { name: 'never' }], timeoutMs: 5000 });
  t.same(deleted.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  const before = await first.waitFor((s) => s.topics.length === 1 && s.topics[0]!.partitions.length === 4, 1000);
  t.equal(await first.stop(), 0, 'the worker exits on its own after stopped');

  const second = new RaftWorkerHandle(data);
  t.teardown(() => second.kill());
  const after = await second.waitFor((s) => live(s) && s.topics.length === 1 && s.topics[0]!.partitions.every((p) => p.leader === 1));
  t.equal(after.clusterId, before.clusterId, 'same cluster id');
  const o = after.topics[0]!;
  t.equal(o.name, 'orders');
  t.equal(o.id, created[0]!.id);
  t.same(o.configs, { 'retention.ms': '3600000' });
  t.equal(o.partitions.length, 4);
  for (const p of o.partitions) {
    t.same(p.isr, [1]);
    t.ok(p.leaderEpoch > 0, 'leadership came back through a new leader epoch');
  }
  const more = await second.request({ op: 'createTopics', topics: [{ name: 'later', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false, timeoutMs: 5000 });
  t.equal(more[0]!.errorCode, ErrorCode.NONE, 'the restarted node still controls');

  // A crash leaves the log saying this node leads every partition, unfenced. That is the last
  // run's state: the first image the next run publishes already holds its new registration,
  // which fenced it and took its leaderships away until it is unfenced again.
  await second.kill();
  const third = new RaftWorkerHandle(data);
  t.teardown(() => third.kill());
  await third.waitFor((s) => live(s) && s.topics.every((x) => x.partitions.every((p) => p.leader === 1)));
  const firstSeen = third.first!;
  t.same(
    { fenced: firstSeen.brokers.find((b) => b.id === 1)?.fenced, led: firstSeen.topics.flatMap((x) => x.partitions.filter((p) => p.leader === 1).map((p) => `${x.name}-${p.partition}`)) },
    { fenced: true, led: [] },
    'after a crash the node publishes nothing older than its new registration',
  );
  await third.stop();
});

t.test('three nodes: requests through a follower, a silent broker is fenced and its leaderships move', async (t) => {
  const dirs = await Promise.all([1, 2, 3].map((id) => mkdtemp(join(tmpdir(), `raft-worker-${id}-`))));
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const ports = [await freePort(), await freePort(), await freePort()];
  const voters = ports.map((port, i) => ({ id: i + 1, host: '127.0.0.1', port }));
  const nodes = voters.map((v, i) => new RaftWorkerHandle({
    nodeId: v.id,
    voters,
    controllerListen: { host: v.host, port: v.port },
    metadataDir: dirs[i]!,
    threadStats: threadStatsLayout(['main', 'raft']),
    raftStats: raftStatsBuffer(),
    advertised: { host: '127.0.0.1', port: 19100 + v.id },
    advertisedListeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19100 + v.id }],
    rack: null,
    settings: { numPartitions: 1, defaultReplicationFactor: 3, brokerSessionTimeoutMs: 1500, brokerHeartbeatIntervalMs: 150, electionTimeoutMs: 500 },
  }));
  t.teardown(() => Promise.all(nodes.map((n) => n.kill())));
  const allLive = (s: MetadataSnapshot): boolean => s.controllerId > 0 && s.brokers.length === 3 && s.brokers.every((b) => !b.fenced);
  const views = await Promise.all(nodes.map((n) => n.waitFor(allLive, 120_000)));
  t.equal(new Set(views.map((v) => v.clusterId)).size, 1, 'one cluster id everywhere');
  const controllerId = views[0]!.controllerId;
  const follower = nodes.find((_, i) => i + 1 !== controllerId)!;
  const created = await follower.request({
    op: 'createTopics',
    topics: [{ name: 'replicated', numPartitions: 6, replicationFactor: -1, configs: {} }],
    validateOnly: false,
    timeoutMs: 10_000,
  });
  t.same(created.map((r) => [r.errorCode, r.numPartitions, r.replicationFactor]), [[ErrorCode.NONE, 6, 3]]);
  const topicEverywhere = (s: MetadataSnapshot): boolean => s.topics.some((x) => x.name === 'replicated');
  const seen = await Promise.all(nodes.map((n) => n.waitFor(topicEverywhere, 5000)));
  t.same(seen[1]!.topics, seen[0]!.topics, 'every node publishes the same topic state');
  const leaders = seen[0]!.topics[0]!.partitions.map((p) => p.leader);
  t.same([1, 2, 3].map((b) => leaders.filter((l) => l === b).length), [2, 2, 2], 'leaders spread over the brokers');

  // Kill a broker that is not the controller; the controller fences it after its session.
  const victimId = [1, 2, 3].find((id) => id !== controllerId)!;
  await nodes[victimId - 1]!.kill();
  const controllerNode = nodes[controllerId - 1]!;
  const after = await controllerNode.waitFor((s) => s.brokers.some((b) => b.id === victimId && b.fenced)
    && s.topics[0]!.partitions.every((p) => p.leader !== victimId), 10_000);
  for (const p of after.topics[0]!.partitions) {
    t.notOk(p.isr.includes(victimId), 'the dead broker left the ISR');
    t.ok(p.isr.includes(p.leader), 'a live ISR member leads');
  }
  await Promise.all(nodes.filter((_, i) => i + 1 !== victimId).map((n) => n.stop()));
});

t.test('five nodes: a dead broker is fenced soon after its connections close, long before its session ends, also when it was the controller', async (t) => {
  const dirs = await Promise.all([1, 2, 3, 4, 5].map((id) => mkdtemp(join(tmpdir(), `raft-worker-${id}-`))));
  t.teardown(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const ports = await Promise.all(dirs.map(() => freePort()));
  const voters = ports.map((port, i) => ({ id: i + 1, host: '127.0.0.1', port }));
  const nodes = voters.map((v, i) => new RaftWorkerHandle({
    nodeId: v.id,
    voters,
    controllerListen: { host: v.host, port: v.port },
    metadataDir: dirs[i]!,
    threadStats: threadStatsLayout(['main', 'raft']),
    raftStats: raftStatsBuffer(),
    advertised: { host: '127.0.0.1', port: 19200 + v.id },
    advertisedListeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 19200 + v.id }],
    rack: null,
    // A session far longer than the test waits: only a closed connection can fence in time.
    settings: { numPartitions: 5, defaultReplicationFactor: 3, brokerSessionTimeoutMs: 120_000, brokerHeartbeatIntervalMs: 1000, electionTimeoutMs: 500, brokerFastFenceMs: 300 },
  }));
  t.teardown(() => Promise.all(nodes.map((n) => n.kill())));
  const allLive = (s: MetadataSnapshot): boolean => s.controllerId > 0 && s.brokers.length === 5 && s.brokers.every((b) => !b.fenced);
  const views = await Promise.all(nodes.map((n) => n.waitFor(allLive, 120_000)));
  const controllerId = views[0]!.controllerId;
  const created = await nodes[controllerId - 1]!.request({
    op: 'createTopics', topics: [{ name: 'fast', numPartitions: -1, replicationFactor: -1, configs: {} }], validateOnly: false, timeoutMs: 10_000,
  });
  t.equal(created[0]!.errorCode, ErrorCode.NONE);
  const fencedAndMoved = (id: number) => (s: MetadataSnapshot): boolean => s.brokers.some((b) => b.id === id && b.fenced)
    && s.topics.length === 1 && s.topics[0]!.partitions.every((p) => p.leader !== id && !p.isr.includes(id) && p.leader !== -1);

  const follower = [1, 2, 3, 4, 5].find((id) => id !== controllerId)!;
  await nodes[follower - 1]!.kill();
  const survivor = nodes[[1, 2, 3, 4, 5].find((id) => id !== controllerId && id !== follower)! - 1]!;
  await survivor.waitFor(fencedAndMoved(follower), 5000);
  t.pass('a dead follower of the controller is fenced and its leaderships move within 5 s');

  await nodes[controllerId - 1]!.kill();
  const after = await survivor.waitFor((s) => s.controllerId !== controllerId && s.controllerId > 0 && fencedAndMoved(controllerId)(s), 8000);
  t.not(after.controllerId, follower, 'a live node took over as controller');
  t.pass('the dead controller is fenced by its successor and its leaderships move within 8 s');
  await Promise.all(nodes.filter((_, i) => i + 1 !== follower && i + 1 !== controllerId).map((n) => n.stop()));
});
