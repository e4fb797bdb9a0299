// A seeded simulation of brokers that crash, stop and restart under a live controller, with
// no I/O: the controller decides on its image and commits entries to a log; each broker
// process replays its local log up to the commit index it had persisted, applies the log
// from there with a lag of its own, registers, heartbeats, and publishes its image to its
// main thread (MetadataCache) when MetadataCatchUp allows; its partition worker takes the
// leaderships of that cache later still, and serves requests routed by the cache with the
// leader epoch check the workers make.
//
// What must hold, whatever the seed:
//   - a broker publishes nothing, so takes no partition role (leader or follower), before this
//     process has registered and applied its registration;
//   - every leadership a broker takes was given to this process: at an offset after its
//     registration, never one it held in an earlier run or one since given to another;
//   - a worker answers a request only at the leader epoch the request was routed for, so never
//     at an epoch older than the metadata its broker has applied.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { leaderEpochError } from '../../src/shared/leader-epoch.js';
import { MetadataCache } from '../../src/main/metadata-cache.js';
import { leaderError } from '../../src/main/partition-leader.js';
import { seededRandom, type Random } from '../../src/workers/raft/core/prng.js';
import { MetadataCatchUp } from '../../src/workers/raft/metadata/catch-up.js';
import { Controller } from '../../src/workers/raft/metadata/controller.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import type { MetadataRecord } from '../../src/workers/raft/metadata/records.js';
import { seededRandom as controllerRandom } from './fixtures/cluster.js';

const BROKERS = [1, 2, 3];
const TOPIC = 'events';
const PARTITIONS = 6;
const MIN_ISR = 2;
const SESSION_MS = 3000;
const HEARTBEAT_MS = 500;

t.test('leader epoch check: only the epoch the leader was given is served', async (t) => {
  t.equal(leaderEpochError(4, 4), ErrorCode.NONE, 'the same epoch');
  t.equal(leaderEpochError(4, -1), ErrorCode.NONE, 'no epoch named');
  t.equal(leaderEpochError(4, 3), ErrorCode.FENCED_LEADER_EPOCH, 'the sender missed a leader change');
  t.equal(leaderEpochError(4, 5), ErrorCode.UNKNOWN_LEADER_EPOCH, 'this leader has not been given that epoch yet');
  t.equal(leaderEpochError(0, 1), ErrorCode.UNKNOWN_LEADER_EPOCH, 'a replayed epoch 0 does not answer for epoch 1');
});

t.test('catch-up: nothing is published before the registration is applied, everything after', async (t) => {
  const c = new MetadataCatchUp();
  t.notOk(c.mayPublish(100), 'an image replayed from the local log, before registering');
  c.registered(120);
  t.notOk(c.mayPublish(119), 'registered, the image one entry short of the registration');
  t.ok(c.mayPublish(120), 'the image holds the registration');
  c.registered(200);
  t.ok(c.mayPublish(150), 'caught up once is caught up for good (a later registration of the same process)');
});

/** Who was given each leadership, and at which offset: `${partition}@${epoch}` -> grant. */
interface Grant { offset: number; leader: number }

class Quorum {
  readonly entries: MetadataRecord[][] = [];
  readonly image = new MetadataImage();
  readonly grants = new Map<string, Grant>();
  readonly controller: Controller;

  constructor(seed: number) {
    this.commit([{ type: 'clusterId', clusterId: 'sim' }]);
    this.controller = new Controller(this.image, {
      numPartitions: PARTITIONS, defaultReplicationFactor: 3, brokerSessionTimeoutMs: SESSION_MS, autoLeaderRebalance: true,
    }, controllerRandom(seed), 0);
  }

  get end(): number {
    return this.entries.length;
  }

  commit(records: MetadataRecord[]): void {
    if (records.length === 0) return;
    this.entries.push(records);
    const offset = this.entries.length;
    const before = new Map(this.partitions().map((p) => [p.partition, `${p.leader}@${p.leaderEpoch}`]));
    this.image.apply(records, offset);
    for (const p of this.partitions()) {
      if (p.leader >= 0 && before.get(p.partition) !== `${p.leader}@${p.leaderEpoch}`) {
        this.grants.set(`${p.partition}@${p.leaderEpoch}`, { offset, leader: p.leader });
      }
    }
  }

  partitions() {
    return this.image.topicsByName.get(TOPIC)?.partitions ?? [];
  }
}

/** One run of a broker: its raft worker's image, its main thread's cache, its worker's leaderships. */
class BrokerProcess {
  readonly image = new MetadataImage();
  readonly catchUp = new MetadataCatchUp();
  readonly cache: MetadataCache;
  /** What the controller answered to this process's registration: its broker epoch, the registration's offset. */
  registrationOffset = -1;
  lastHeartbeatMs = -Infinity;
  /** The leaderships the partition worker holds: partition -> leader epoch. */
  workerLeads = new Map<number, number>();

  constructor(readonly id: number, readonly incarnation: string, replayed: MetadataRecord[][]) {
    this.cache = new MetadataCache(id);
    replayed.forEach((records, i) => this.image.apply(records, i + 1));
  }
}

interface Findings {
  violations: string[];
  /** Restarts whose replayed image had the broker leading a partition (the hazard exercised). */
  staleReplays: number;
  leaderships: number;
  served: number;
  refused: number;
}

function simulate(seed: number, steps: number, f: Findings): void {
  const rng: Random = seededRandom(seed);
  const q = new Quorum(seed);
  /** What each broker's disk keeps: its log up to `logEnd`, and the commit index it last persisted. */
  const disk = new Map(BROKERS.map((id) => [id, { logEnd: 0, commitHint: 0 }]));
  const procs = new Map<number, BrokerProcess>();
  let incarnations = 0;
  let now = 0;

  const violation = (p: BrokerProcess, what: string): void => {
    if (f.violations.length < 20) f.violations.push(`seed ${seed} at ${now} ms: broker ${p.id} ${what}`);
  };

  /** The raft worker's publish: only what MetadataCatchUp lets through reaches the main thread. */
  const publish = (p: BrokerProcess): void => {
    if (!p.catchUp.mayPublish(p.image.offset)) return;
    p.cache.update(p.image.toMetadataSnapshot(-1));
    const hosted = p.cache.hostedPartitions(() => ({ minIsr: MIN_ISR, logConfig: {} }));
    if (hosted.length > 0 && (p.registrationOffset < 0 || p.image.offset < p.registrationOffset)) {
      violation(p, `took roles for ${hosted.length} partitions at offset ${p.image.offset}, before applying its registration (${p.registrationOffset})`);
    }
    for (const h of hosted) {
      if (h.leader !== p.id) continue;
      const grant = q.grants.get(`${h.partition}@${h.leaderEpoch}`);
      if (grant === undefined || grant.leader !== p.id || grant.offset <= p.registrationOffset) {
        violation(p, `leads partition ${h.partition} at epoch ${h.leaderEpoch}, given ${grant ? `to broker ${grant.leader} at offset ${grant.offset}` : 'to nobody'}; registered at ${p.registrationOffset}`);
      }
    }
  };

  const start = (id: number): void => {
    const d = disk.get(id)!;
    const p = new BrokerProcess(id, `${id}-${++incarnations}`.padStart(32, '0'), q.entries.slice(0, d.commitHint));
    if (p.image.topicsByName.get(TOPIC)?.partitions.some((x) => x.leader === id)) f.staleReplays++;
    procs.set(id, p);
    publish(p);
  };

  const register = (p: BrokerProcess): void => {
    const reg = q.controller.registerBroker({ brokerId: p.id, incarnationId: p.incarnation, host: '127.0.0.1', port: 9000 + p.id, listeners: [], rack: null }, now);
    q.commit(reg.records);
    p.registrationOffset = q.image.brokers.get(p.id)!.epoch;
    p.catchUp.registered(p.registrationOffset);
    publish(p);
  };

  const heartbeat = (p: BrokerProcess, wantShutDown: boolean): void => {
    p.lastHeartbeatMs = now;
    const hb = q.controller.heartbeat({ brokerId: p.id, brokerEpoch: p.registrationOffset, metadataOffset: p.image.offset, wantShutDown }, now);
    q.commit(hb.records);
  };

  /** Applies up to `n` committed entries; the disk keeps them and, now and then, the commit index. */
  const apply = (p: BrokerProcess, n: number): void => {
    for (let i = 0; i < n && p.image.offset < q.end; i++) {
      const offset = p.image.offset + 1;
      p.image.apply(q.entries[offset - 1]!, offset);
      const d = disk.get(p.id)!;
      d.logEnd = Math.max(d.logEnd, offset);
      if (rng.next() < 0.3) d.commitHint = offset;
      publish(p);
    }
  };

  /** The partition worker takes the leaderships its main thread's cache gives it, later. */
  const workerCatchUp = (p: BrokerProcess): void => {
    p.workerLeads = new Map(p.cache.hostedPartitions(() => ({ minIsr: MIN_ISR, logConfig: {} })).filter((h) => h.leader === p.id).map((h) => [h.partition, h.leaderEpoch]));
    f.leaderships += p.workerLeads.size;
  };

  /**
   * A request from a client (or follower) that knows `from`'s metadata, to the broker named
   * there as leader: a Fetch names that leader epoch, and the main thread checks it against its
   * cache before the worker checks it against its own leadership; a Produce names none, and the
   * main thread routes it with its cache's epoch.
   */
  const request = (partition: number, from: BrokerProcess, fetch: boolean): void => {
    const known = from.cache.partition(TOPIC, partition);
    if (known === undefined || known.leader < 0) return;
    const leader = procs.get(known.leader);
    if (leader === undefined) return;
    const routed = leader.cache.partition(TOPIC, partition);
    const mainError = leaderError(routed, leader.id, fetch ? known.leaderEpoch : -1);
    const given = leader.workerLeads.get(partition);
    if (mainError !== ErrorCode.NONE || given === undefined || leaderEpochError(given, fetch ? known.leaderEpoch : routed!.leaderEpoch) !== ErrorCode.NONE) {
      f.refused++;
      return;
    }
    f.served++;
    const grant = q.grants.get(`${partition}@${given}`);
    if (grant === undefined || grant.leader !== leader.id || grant.offset <= leader.registrationOffset) {
      violation(leader, `served partition ${partition} at epoch ${given}, which was not given to this process`);
    }
    if (given !== routed!.leaderEpoch) violation(leader, `served partition ${partition} at epoch ${given} where its metadata says ${routed!.leaderEpoch}`);
  };

  for (const id of BROKERS) {
    start(id);
    register(procs.get(id)!);
  }
  for (const p of procs.values()) apply(p, q.end);
  for (const p of procs.values()) heartbeat(p, false);
  q.commit(q.controller.createTopics({ topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: {} }], validateOnly: false }).records);

  for (let step = 0; step < steps; step++) {
    now += 1 + rng.int(150);
    for (const p of procs.values()) {
      if (rng.next() < 0.7) apply(p, 1 + rng.int(3));
      if (p.registrationOffset < 0) {
        if (rng.next() < 0.3) register(p);
      } else if (now - p.lastHeartbeatMs >= HEARTBEAT_MS) {
        heartbeat(p, false);
      }
      if (rng.next() < 0.4) workerCatchUp(p);
    }
    q.commit(q.controller.tick(now));
    // A leader proposes a follower it sees live back into the ISR (the follower caught up).
    for (const p of procs.values()) {
      for (const h of p.cache.hostedPartitions(() => ({ minIsr: MIN_ISR, logConfig: {} }))) {
        if (h.leader !== p.id || rng.next() > 0.2) continue;
        const back = h.replicas.find((r) => !h.isr.includes(r) && procs.get(r)?.registrationOffset !== -1 && procs.has(r));
        if (back === undefined) continue;
        const topic = p.cache.topic(TOPIC)!;
        q.commit(q.controller.alterPartition({
          topicId: topic.id, partition: h.partition, brokerId: p.id, brokerEpoch: p.registrationOffset,
          leaderEpoch: h.leaderEpoch, partitionEpoch: h.partitionEpoch, isr: [...h.isr, back],
        }).records);
      }
    }
    for (let i = 0; i < 3; i++) {
      const from = procs.get(BROKERS[rng.int(BROKERS.length)]!);
      if (from) request(rng.int(PARTITIONS), from, i !== 0);
    }
    // One broker down at a time: SIGKILL, or SIGTERM with a controlled shutdown first.
    if (procs.size === BROKERS.length && rng.next() < 0.03) {
      const victim = procs.get(BROKERS[rng.int(BROKERS.length)]!)!;
      if (rng.next() < 0.5 && victim.registrationOffset >= 0) heartbeat(victim, true);
      procs.delete(victim.id);
    } else if (procs.size < BROKERS.length && rng.next() < 0.15) {
      start(BROKERS.find((id) => !procs.has(id))!);
    }
  }
}

t.test('seeded restarts: no role before catch-up, no leadership or answer at an epoch not given to this process', async (t) => {
  const f: Findings = { violations: [], staleReplays: 0, leaderships: 0, served: 0, refused: 0 };
  for (let seed = 1; seed <= 200; seed++) simulate(seed, 400, f);
  t.same(f.violations, [], 'no violations over 200 seeds');
  t.ok(f.staleReplays > 100, `${f.staleReplays} restarts replayed an image in which the broker led a partition`);
  t.ok(f.leaderships > 1000 && f.served > 1000, `${f.leaderships} worker leaderships, ${f.served} requests served, ${f.refused} refused`);
});
