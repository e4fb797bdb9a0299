import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { Controller } from '../../src/workers/raft/metadata/controller.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { cluster, commit, register, seededRandom, SETTINGS } from './fixtures/cluster.js';

function create(c: ReturnType<typeof cluster>, name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}) {
  const d = c.controller.createTopics({ topics: [{ name, numPartitions, replicationFactor, configs }], validateOnly: false });
  commit(c.image, d.records);
  return d.result[0]!;
}

t.test('replicas spread round-robin: leaders and replicas evenly over live brokers', async (t) => {
  const c = cluster(3);
  const r = create(c, 'spread', 12, 3);
  t.equal(r.errorCode, ErrorCode.NONE);
  t.equal(r.numPartitions, 12);
  t.equal(r.replicationFactor, 3);
  const parts = c.image.topicsByName.get('spread')!.partitions;
  const leaders = new Map<number, number>();
  const replicaCount = new Map<number, number>();
  for (const p of parts) {
    leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    for (const b of p.replicas) replicaCount.set(b, (replicaCount.get(b) ?? 0) + 1);
    t.equal(new Set(p.replicas).size, 3, 'no broker twice in one partition');
    t.same(p.isr, p.replicas, 'a new partition is fully in sync');
    t.equal(p.leader, p.replicas[0], 'the preferred replica leads');
  }
  t.same([...leaders.entries()].sort(), [[1, 4], [2, 4], [3, 4]]);
  t.same([...replicaCount.entries()].sort(), [[1, 12], [2, 12], [3, 12]]);
});

t.test('followers of one broker spread over the others (replication factor 2 of 4)', async (t) => {
  const c = cluster(4, 7);
  create(c, 'rf2', 8, 2);
  const parts = c.image.topicsByName.get('rf2')!.partitions;
  const leaderCounts = [1, 2, 3, 4].map((b) => parts.filter((p) => p.leader === b).length);
  t.same(leaderCounts, [2, 2, 2, 2]);
  const followersOfLeader = new Map<number, Set<number>>();
  for (const p of parts) {
    const s = followersOfLeader.get(p.leader) ?? new Set();
    s.add(p.replicas[1]!);
    followersOfLeader.set(p.leader, s);
  }
  for (const s of followersOfLeader.values()) t.equal(s.size, 2, 'a leader\'s two partitions have different followers');
});

t.test('defaults: -1 partitions and -1 replication factor', async (t) => {
  const c = cluster(2);
  const r = create(c, 'defaults', -1, -1, { 'retention.ms': '1000' });
  t.equal(r.errorCode, ErrorCode.NONE);
  t.equal(r.numPartitions, SETTINGS.numPartitions);
  t.equal(r.replicationFactor, SETTINGS.defaultReplicationFactor);
  t.match(r.id, /^[0-9a-f]{32}$/);
  const topic = c.image.topicsByName.get('defaults')!;
  t.equal(topic.id, r.id);
  t.same(Object.fromEntries(topic.configs), { 'retention.ms': '1000' });
});

t.test('topic name validation', async (t) => {
  const c = cluster(1);
  const bad = ['', '.', '..', 'a'.repeat(250), 'has space', 'slash/x', 'ümlaut'];
  for (const name of bad) t.equal(create(c, name, 1, 1).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, JSON.stringify(name));
  t.equal(create(c, 'a'.repeat(249), 1, 1).errorCode, ErrorCode.NONE, '249 chars is legal');
  t.equal(create(c, 'ok.name_with-all.9', 1, 1).errorCode, ErrorCode.NONE);
  t.equal(create(c, 'ok.name_with-all.9', 1, 1).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  t.equal(create(c, 'ok_name_with-all_9', 1, 1).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, '"." and "_" collide');
  t.equal(c.image.topicsByName.size, 2);
  const reserved = create(c, '__cluster_metadata', 1, 1);
  t.equal(reserved.errorCode, ErrorCode.INVALID_REQUEST, 'the metadata log\'s name is refused');
  t.equal(c.image.topicsByName.size, 2, 'and no record is written for it');
});

t.test('partition count and replication factor validation', async (t) => {
  const c = cluster(2);
  t.equal(create(c, 'zero', 0, 1).errorCode, ErrorCode.INVALID_PARTITIONS);
  t.equal(create(c, 'neg', -5, 1).errorCode, ErrorCode.INVALID_PARTITIONS);
  t.equal(create(c, 'rf0', 1, 0).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  const tooMany = create(c, 'rf3', 1, 3);
  t.equal(tooMany.errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  t.match(tooMany.errorMessage, /only 2 broker/);
  t.equal(c.image.topicsByName.size, 0, 'nothing was created');
});

t.test('replication factor counts only live (unfenced) brokers', async (t) => {
  const c = cluster(3);
  commit(c.image, c.controller.tick(SETTINGS.brokerSessionTimeoutMs + 1));
  t.equal(c.image.liveBrokerIds().length, 2, 'one broker fenced by its session timeout');
  t.equal(create(c, 'three', 1, 3).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
  t.equal(create(c, 'two', 4, 2).errorCode, ErrorCode.NONE);
  const fenced = [1, 2, 3].find((id) => !c.image.isLive(id))!;
  for (const p of c.image.topicsByName.get('two')!.partitions) t.notOk(p.replicas.includes(fenced));
});

t.test('duplicate names in one request and validateOnly', async (t) => {
  const c = cluster(1);
  const dup = c.controller.createTopics({
    topics: [
      { name: 'x', numPartitions: 1, replicationFactor: 1, configs: {} },
      { name: 'x', numPartitions: 2, replicationFactor: 1, configs: {} },
      { name: 'y', numPartitions: 2, replicationFactor: 1, configs: {} },
    ],
    validateOnly: false,
  });
  t.same(dup.result.map((r) => [r.name, r.errorCode]), [['x', ErrorCode.INVALID_REQUEST], ['x', ErrorCode.INVALID_REQUEST], ['y', ErrorCode.NONE]]);
  const v = c.controller.createTopics({ topics: [{ name: 'v', numPartitions: 5, replicationFactor: 1, configs: {} }], validateOnly: true });
  t.same(v.records, [], 'validateOnly proposes nothing');
  t.equal(v.result[0]!.errorCode, ErrorCode.NONE);
  t.equal(v.result[0]!.numPartitions, 5);
});

t.test('explicit assignments are honoured and validated', async (t) => {
  const c = cluster(3);
  const ok = c.controller.createTopics({
    topics: [{ name: 'manual', numPartitions: -1, replicationFactor: -1, configs: {},
      assignments: [{ partition: 1, replicas: [3, 1] }, { partition: 0, replicas: [2, 3] }] }],
    validateOnly: false,
  });
  commit(c.image, ok.records);
  t.equal(ok.result[0]!.errorCode, ErrorCode.NONE);
  t.same(c.image.topicsByName.get('manual')!.partitions.map((p) => [p.replicas, p.leader]), [[[2, 3], 2], [[3, 1], 3]]);
  const cases: [string, { partition: number; replicas: number[] }[], number, number][] = [
    ['gap', [{ partition: 0, replicas: [1] }, { partition: 2, replicas: [2] }], -1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
    ['unknown-broker', [{ partition: 0, replicas: [9] }], -1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
    ['dup-broker', [{ partition: 0, replicas: [1, 1] }], -1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
    ['uneven', [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [3] }], -1, ErrorCode.INVALID_REPLICA_ASSIGNMENT],
    ['both', [{ partition: 0, replicas: [1] }], 1, ErrorCode.INVALID_REQUEST],
  ];
  for (const [name, assignments, numPartitions, code] of cases) {
    const d = c.controller.createTopics({ topics: [{ name, numPartitions, replicationFactor: -1, configs: {}, assignments }], validateOnly: false });
    t.equal(d.result[0]!.errorCode, code, name);
    t.same(d.records, [], name);
  }
});

t.test('delete topics by name and by id', async (t) => {
  const c = cluster(1);
  const a = create(c, 'a', 1, 1);
  create(c, 'b', 1, 1);
  const d = c.controller.deleteTopics({ topics: [{ name: 'b' }, { id: a.id! }, { name: 'nope' }, { id: 'ab'.repeat(16) }] });
  commit(c.image, d.records);
  t.same(d.result.map((r) => [r.name, r.errorCode]), [
    ['b', ErrorCode.NONE], ['a', ErrorCode.NONE], ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['', ErrorCode.UNKNOWN_TOPIC_ID],
  ]);
  t.equal(c.image.topicsById.size, 0);
  t.equal(create(c, 'a', 2, 1).errorCode, ErrorCode.NONE, 'a deleted name can be created again');
  t.equal(c.image.topicsByName.get('a')!.partitions.length, 2);
});

t.test('no cap on partitions per topic; one operation commits at most 10,000 records, as in Kafka', async (t) => {
  const c = cluster(1);
  const big = create(c, 'big', 5000, 1);
  t.equal(big.errorCode, ErrorCode.NONE, 'a topic of 5,000 partitions');
  t.equal(c.image.topicsByName.get('big')!.partitions.length, 5000);
  const two = c.controller.createTopics({
    topics: [{ name: 'x', numPartitions: 6000, replicationFactor: 1, configs: {} }, { name: 'y', numPartitions: 4000, replicationFactor: 1, configs: {} }],
    validateOnly: false,
  });
  t.same(two.records, [], 'nothing commits');
  t.same(two.result.map((r) => [r.name, r.errorCode, r.errorMessage]), [
    ['x', ErrorCode.POLICY_VIOLATION, 'Unable to perform excessively large batch operation.'],
    ['y', ErrorCode.POLICY_VIOLATION, 'Unable to perform excessively large batch operation.'],
  ], 'the whole request is refused: 10,002 records');
  const grow = c.controller.createPartitions({ topics: [{ name: 'big', count: 15_001 }], validateOnly: false });
  t.same([grow.records.length, grow.result[0]!.errorCode], [0, ErrorCode.POLICY_VIOLATION], '10,001 new partitions refused');
  const d = c.controller.createPartitions({ topics: [{ name: 'big', count: 15_000 }], validateOnly: false });
  commit(c.image, d.records);
  t.same([d.result[0]!.errorCode, c.image.topicsByName.get('big')!.partitions.length], [ErrorCode.NONE, 15_000], '10,000 new partitions fit');
});

t.test('create partitions', async (t) => {
  const c = cluster(3);
  create(c, 'grow', 3, 2);
  const bad = c.controller.createPartitions({ topics: [{ name: 'grow', count: 3 }, { name: 'missing', count: 5 }], validateOnly: false });
  t.same(bad.result.map((r) => r.errorCode), [ErrorCode.INVALID_PARTITIONS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  t.equal(c.controller.createPartitions({ topics: [{ name: 'grow', count: 2 }], validateOnly: false }).result[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
  const only = c.controller.createPartitions({ topics: [{ name: 'grow', count: 6 }], validateOnly: true });
  t.same(only.records, []);
  const d = c.controller.createPartitions({ topics: [{ name: 'grow', count: 6 }], validateOnly: false });
  commit(c.image, d.records);
  t.equal(d.result[0]!.errorCode, ErrorCode.NONE);
  const parts = c.image.topicsByName.get('grow')!.partitions;
  t.equal(parts.length, 6);
  t.same([1, 2, 3].map((b) => parts.filter((p) => p.leader === b).length), [2, 2, 2], 'leaders still spread');
  for (const p of parts) t.equal(p.replicas.length, 2, 'same replication factor as the topic');
  const manual = c.controller.createPartitions({ topics: [{ name: 'grow', count: 7, assignments: [[3]] }], validateOnly: false });
  t.equal(manual.result[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'wrong replication factor');
  const manualOk = c.controller.createPartitions({ topics: [{ name: 'grow', count: 7, assignments: [[3, 1]] }], validateOnly: false });
  commit(c.image, manualOk.records);
  t.same(parts[6]!.replicas, [3, 1]);
});

t.test('fencing on session timeout moves leadership to a live ISR member', async (t) => {
  const c = cluster(3);
  create(c, 'ha', 6, 3);
  // Brokers 2 and 3 keep heartbeating; broker 1 goes silent.
  for (const id of [2, 3]) {
    const hb = c.controller.heartbeat({ brokerId: id, brokerEpoch: c.image.brokers.get(id)!.epoch, metadataOffset: c.image.offset, wantShutDown: false }, 5000);
    t.same(hb.records, []);
  }
  t.same(c.controller.tick(9000), [], 'within the session');
  const before = c.image.topicsByName.get('ha')!.partitions.map((p) => ({ ...p }));
  commit(c.image, c.controller.tick(9001));
  t.notOk(c.image.isLive(1), 'broker 1 fenced');
  t.ok(c.image.isLive(2) && c.image.isLive(3));
  t.same(c.controller.tick(9002), [], 'nothing more to fence');
  const after = c.image.topicsByName.get('ha')!.partitions;
  after.forEach((p, i) => {
    const old = before[i]!;
    t.not(p.leader, 1);
    t.ok(p.isr.includes(p.leader), 'the leader is in the ISR');
    t.notOk(p.isr.includes(1), 'the fenced broker left the ISR');
    t.equal(p.leaderEpoch, old.leader === 1 ? old.leaderEpoch + 1 : old.leaderEpoch);
    t.equal(p.partitionEpoch, old.partitionEpoch + 1);
    if (old.leader === 1) t.equal(p.leader, old.replicas.find((b) => b !== 1), 'the next preferred replica');
  });
});

t.test('no unclean election: the last ISR member stays, leader -1, and it leads again on unfence', async (t) => {
  const c = cluster(2);
  const r = c.controller.createTopics({ topics: [{ name: 'solo', numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partition: 0, replicas: [1, 2] }] }], validateOnly: false });
  commit(c.image, r.records);
  const p = c.image.topicsByName.get('solo')!.partitions[0]!;
  // The leader shrinks the ISR to itself (the follower lags), then dies.
  const alter = c.controller.alterPartition({ brokerId: 1, brokerEpoch: c.image.brokers.get(1)!.epoch, topicId: r.result[0]!.id!, partition: 0, leaderEpoch: 0, partitionEpoch: 0, isr: [1] });
  t.equal(alter.result.errorCode, ErrorCode.NONE);
  commit(c.image, alter.records);
  t.same(p.isr, [1]);
  c.controller.heartbeat({ brokerId: 2, brokerEpoch: c.image.brokers.get(2)!.epoch, metadataOffset: c.image.offset, wantShutDown: false }, 8000);
  commit(c.image, c.controller.tick(9001));
  t.notOk(c.image.isLive(1));
  t.equal(p.leader, -1, 'the out-of-sync replica 2 is not elected');
  t.same(p.isr, [1], 'the ISR is never empty');
  t.equal(p.leaderEpoch, 1);
  const epoch = c.image.brokers.get(1)!.epoch;
  const stale = c.controller.heartbeat({ brokerId: 1, brokerEpoch: epoch - 1, metadataOffset: c.image.offset, wantShutDown: false }, 9500);
  t.equal(stale.result.errorCode, ErrorCode.STALE_BROKER_EPOCH);
  const behind = c.controller.heartbeat({ brokerId: 1, brokerEpoch: epoch, metadataOffset: epoch - 1, wantShutDown: false }, 9500);
  t.same(behind.records, [], 'not unfenced before it caught up with its registration');
  const back = c.controller.heartbeat({ brokerId: 1, brokerEpoch: epoch, metadataOffset: c.image.offset, wantShutDown: false }, 9600);
  t.same(back.result, { errorCode: ErrorCode.NONE, fenced: false });
  commit(c.image, back.records);
  t.ok(c.image.isLive(1));
  t.equal(p.leader, 1);
  t.equal(p.leaderEpoch, 2);
});

t.test('a new incarnation of a broker is fenced until it heartbeats, its leaderships move', async (t) => {
  const c = cluster(2);
  create(c, 'r', 4, 2);
  const epoch1 = c.image.brokers.get(1)!.epoch;
  const reg = c.controller.registerBroker({ brokerId: 1, incarnationId: 'f'.repeat(32), host: 'h', port: 1, listeners: [], rack: 'r1' }, 100);
  commit(c.image, reg.records);
  const b = c.image.brokers.get(1)!;
  t.ok(b.fenced);
  t.ok(b.epoch > epoch1, 'a new broker epoch');
  t.equal(b.rack, 'r1');
  for (const p of c.image.topicsByName.get('r')!.partitions) {
    t.equal(p.leader, 2);
    t.same(p.isr, [2]);
  }
  const again = c.controller.registerBroker({ brokerId: 1, incarnationId: 'f'.repeat(32), host: 'h', port: 1, listeners: [], rack: 'r1' }, 200);
  t.same(again.records, [], 'the same incarnation registering again changes nothing');
  t.equal(c.controller.heartbeat({ brokerId: 7, brokerEpoch: 1, metadataOffset: 0, wantShutDown: false }, 0).result.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
});

t.test('controlled shutdown fences at once', async (t) => {
  const c = cluster(2);
  create(c, 's', 2, 2);
  const hb = c.controller.heartbeat({ brokerId: 2, brokerEpoch: c.image.brokers.get(2)!.epoch, metadataOffset: c.image.offset, wantShutDown: true }, 10);
  commit(c.image, hb.records);
  t.notOk(c.image.isLive(2));
  for (const p of c.image.topicsByName.get('s')!.partitions) t.equal(p.leader, 1);
});

t.test('alter partition checks epochs and eligibility', async (t) => {
  const c = cluster(3);
  const r = create(c, 'isr', 1, 3);
  const p = c.image.topicsByName.get('isr')!.partitions[0]!;
  const leader = p.leader;
  const base = { brokerId: leader, brokerEpoch: c.image.brokers.get(leader)!.epoch, topicId: r.id!, partition: 0, leaderEpoch: 0, partitionEpoch: 0 };
  const follower = p.replicas.find((b) => b !== leader)!;
  t.equal(c.controller.alterPartition({ ...base, brokerId: follower, brokerEpoch: c.image.brokers.get(follower)!.epoch, isr: [follower] }).result.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  t.equal(c.controller.alterPartition({ ...base, partitionEpoch: 5, isr: [leader] }).result.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
  t.equal(c.controller.alterPartition({ ...base, isr: [follower] }).result.errorCode, ErrorCode.INVALID_REQUEST, 'the leader must stay in the ISR');
  const shrink = c.controller.alterPartition({ ...base, isr: [leader] });
  commit(c.image, shrink.records);
  t.same(p.isr, [leader]);
  t.equal(p.partitionEpoch, 1);
  t.same(shrink.result.partition, { ...p, replicas: p.replicas, isr: [leader] });
  t.equal(c.controller.alterPartition({ ...base, isr: [leader, follower] }).result.errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'the old partition epoch is refused');
  // A fenced replica cannot rejoin the ISR.
  const other = p.replicas.find((b) => b !== leader && b !== follower)!;
  for (const id of [leader, follower]) c.controller.heartbeat({ brokerId: id, brokerEpoch: c.image.brokers.get(id)!.epoch, metadataOffset: c.image.offset, wantShutDown: false }, 9000);
  commit(c.image, c.controller.tick(9001));
  t.notOk(c.image.isLive(other));
  t.equal(c.controller.alterPartition({ ...base, partitionEpoch: 1, isr: [leader, other] }).result.errorCode, ErrorCode.INELIGIBLE_REPLICA);
  const grow = c.controller.alterPartition({ ...base, partitionEpoch: 1, isr: [leader, follower] });
  commit(c.image, grow.records);
  t.same(p.isr, [leader, follower]);
});

t.test('a stale partition change is skipped by the image', async (t) => {
  const image = new MetadataImage();
  const controller = new Controller(image, SETTINGS, seededRandom(3), 0);
  register(image, controller, 1, 0);
  register(image, controller, 2, 0);
  const d = controller.createTopics({ topics: [{ name: 'cas', numPartitions: 1, replicationFactor: 2, configs: {} }], validateOnly: false });
  commit(image, d.records);
  const id = d.result[0]!.id!;
  const p = image.topicsById.get(id)!.partitions[0]!;
  const change = { type: 'partitionChange' as const, topicId: id, partition: 0, partitionEpoch: 0, leader: p.leader, isr: [p.leader] };
  t.ok(image.apply([change], image.offset + 1));
  t.notOk(image.apply([change], image.offset + 1), 'the same change against epoch 0 no longer applies');
  t.equal(p.partitionEpoch, 1);
});

t.test('a broker whose connection closed is fenced after the grace period, its leaderships moved in the same batch', async (t) => {
  const c = cluster(3, 1, { ...SETTINGS, brokerFastFenceMs: 500 });
  create(c, 'fast', 6, 3);
  const heartbeat = (id: number, nowMs: number) => c.controller.heartbeat({ brokerId: id, brokerEpoch: c.image.brokers.get(id)!.epoch, metadataOffset: c.image.offset, wantShutDown: false }, nowMs);
  for (const id of [1, 2, 3]) heartbeat(id, 900);
  c.controller.brokerDisconnected(1, 1000);
  c.controller.brokerDisconnected(1, 1300);
  t.equal(c.controller.nextFastFenceMs(), 1500, 'due the grace period after the first close');
  t.same(c.controller.tick(1499), [], 'not within the grace period');
  const before = c.image.topicsByName.get('fast')!.partitions.map((p) => ({ ...p }));
  const records = c.controller.tick(1500);
  t.same(records.slice(0, 1).map((r) => r.type), ['fenceBroker'], 'the fence comes first');
  commit(c.image, records);
  t.notOk(c.image.isLive(1), 'fenced 500 ms after the close, 8.5 s before its session would end');
  const after = c.image.topicsByName.get('fast')!.partitions;
  t.equal(records.length, 1 + after.length, 'one batch: the fence and a change for every partition');
  after.forEach((p, i) => {
    t.not(p.leader, 1);
    t.notOk(p.isr.includes(1));
    t.equal(p.leaderEpoch, before[i]!.leader === 1 ? before[i]!.leaderEpoch + 1 : before[i]!.leaderEpoch);
  });
  t.equal(c.controller.nextFastFenceMs(), undefined, 'nothing more is due');
  t.same(c.controller.tick(1600), [], 'nothing more to fence');
});

t.test('a heartbeat of the same incarnation within the grace period cancels the fast fence; one sent before the close does not', async (t) => {
  const c = cluster(3, 1, { ...SETTINGS, brokerFastFenceMs: 500 });
  const heartbeat = (id: number, nowMs: number) => c.controller.heartbeat({ brokerId: id, brokerEpoch: c.image.brokers.get(id)!.epoch, metadataOffset: c.image.offset, wantShutDown: false }, nowMs);
  heartbeat(2, 900);
  c.controller.brokerDisconnected(2, 1000);
  heartbeat(2, 1200);
  t.equal(c.controller.nextFastFenceMs(), undefined, 'the heartbeat after the close cancels');
  t.same(c.controller.tick(5000), [], 'a reconnected broker keeps its full session');
  c.controller.brokerDisconnected(2, 6000);
  const stale = c.controller.heartbeat({ brokerId: 2, brokerEpoch: c.image.brokers.get(2)!.epoch - 1, metadataOffset: c.image.offset, wantShutDown: false }, 6100);
  t.equal(stale.result.errorCode, ErrorCode.STALE_BROKER_EPOCH, 'another registration\'s heartbeat is refused');
  t.equal(c.controller.nextFastFenceMs(), 6500, 'and does not cancel');
  commit(c.image, c.controller.tick(6500));
  t.notOk(c.image.isLive(2));
  // The broker was alive after all: its next heartbeat, once it applied the fence, unfences it.
  const back = heartbeat(2, 6600);
  t.same(back.result, { errorCode: ErrorCode.NONE, fenced: false }, 'a live broker fenced by mistake rejoins with its next heartbeat');
  commit(c.image, back.records);
  t.ok(c.image.isLive(2));
});

t.test('a closed connection fences nobody without a grace period set, and ignores fenced and unknown brokers', async (t) => {
  const c = cluster(2);
  c.controller.brokerDisconnected(1, 0);
  c.controller.brokerDisconnected(9, 0);
  t.equal(c.controller.nextFastFenceMs(), undefined);
  t.same(c.controller.tick(5000), [], 'only the session timeout fences');
  const f = cluster(2, 1, { ...SETTINGS, brokerFastFenceMs: 100 });
  commit(f.image, f.controller.heartbeat({ brokerId: 1, brokerEpoch: f.image.brokers.get(1)!.epoch, metadataOffset: f.image.offset, wantShutDown: true }, 0).records);
  f.controller.brokerDisconnected(1, 10);
  t.equal(f.controller.nextFastFenceMs(), undefined, 'a broker already fenced is not tracked');
});

t.test('max.broker.partitions refuses a create that would pass it, and counts what a request already placed', async (t) => {
  const c = cluster(2, 1, { ...SETTINGS, maxBrokerPartitions: 10 });
  t.equal(create(c, 'first', 8, 2).errorCode, ErrorCode.NONE, '8 partitions x RF 2 on two brokers: 8 replicas each');
  const over = create(c, 'second', 5, 1);
  t.equal(over.errorCode, ErrorCode.POLICY_VIOLATION, 'five more would put one broker past 10');
  t.match(over.errorMessage, /max\.broker\.partitions/, 'and the message names the setting');
  t.notOk(c.image.topicsByName.has('second'), 'nothing of it is created');
  t.equal(create(c, 'small', 2, 1).errorCode, ErrorCode.NONE, 'two more fit: 9 each');
  const two = c.controller.createTopics({
    topics: [
      { name: 'a', numPartitions: 2, replicationFactor: 2, configs: {} },
      { name: 'b', numPartitions: 1, replicationFactor: 2, configs: {} },
    ],
    validateOnly: false,
  });
  t.same(two.result.map((r) => r.errorCode), [ErrorCode.POLICY_VIOLATION, ErrorCode.NONE], 'of one request, the topic that does not fit is refused and the one that does is made');
  commit(c.image, two.records);
  const grown = c.controller.createPartitions({ topics: [{ name: 'small', count: 3 }], validateOnly: false });
  t.equal(grown.result[0]!.errorCode, ErrorCode.POLICY_VIOLATION, 'CreatePartitions is held to the same limit');
});

t.test('a partition count past one operation\'s record limit is refused before any placement', async (t) => {
  const c = cluster(1);
  const started = performance.now();
  t.equal(create(c, 'huge', 2 ** 30, 1).errorCode, ErrorCode.POLICY_VIOLATION, 'CreateTopics with 2^30 partitions');
  t.equal(create(c, 'ok', 1, 1).errorCode, ErrorCode.NONE);
  const grown = c.controller.createPartitions({ topics: [{ name: 'ok', count: 2 ** 30 }], validateOnly: false });
  t.equal(grown.result[0]!.errorCode, ErrorCode.POLICY_VIOLATION, 'CreatePartitions to 2^30');
  t.ok(performance.now() - started < 1000, 'answered without building the placements');
});
