// A live group moving between the classic and the consumer protocol, with both state machines
// driven directly on a simulated clock: a consumer-protocol member joining a classic group
// (upgrade), classic members served by the consumer group, the last consumer-protocol member
// leaving (downgrade), and group.consumer.migration.policy refusing either.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { ConsumerEffects, HeartbeatRequest, HeartbeatResult } from '../../src/shared/groups/consumer-group-io.js';
import { ConsumerGroupStateMachine } from '../../src/shared/groups/consumer-group-state-machine.js';
import { decodeAssignment, encodeAssignment } from '../../src/shared/groups/consumer-protocol.js';
import { recordType } from '../../src/shared/groups/consumer-records.js';
import type { MigrationPolicy } from '../../src/shared/groups/group-conversion.js';
import type { Effects, JoinInput, JoinResult, SyncResult } from '../../src/shared/groups/group-io.js';
import { GroupStateMachine } from '../../src/shared/groups/group-state-machine.js';
import type { Group } from '../../src/shared/groups/group.js';
import { Writer } from '../../src/shared/protocol/writer.js';

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ';
const GROUP_RECORD = 2;

/** ConsumerProtocolSubscription v0: the topics, no user data. */
function subscription(topics: string[]): Buffer {
  const w = new Writer(32);
  w.int16(0);
  w.arrayLength(topics.length);
  for (const name of topics) w.string(name);
  w.nullableBytes(null);
  return w.toBuffer();
}

class Coordinator {
  now = 1_000_000;
  private to = 1;
  private ids = 1;
  readonly replies = new Map<number, unknown>();
  /** Record types of every write, in order. */
  readonly written: number[][] = [];
  readonly classic: GroupStateMachine;
  readonly consumers: ConsumerGroupStateMachine;

  constructor(policy: MigrationPolicy) {
    this.classic = new GroupStateMachine({ initialRebalanceDelayMs: 100, minSessionTimeoutMs: 1, maxSessionTimeoutMs: 600_000, maxMetadataBytes: 4096, newMemberId: (c) => `${c}-${this.ids++}` });
    this.consumers = new ConsumerGroupStateMachine({
      sessionTimeoutMs: 45_000,
      heartbeatIntervalMs: 5_000,
      assignors: ['uniform'],
      maxSize: 10,
      migrationPolicy: policy,
      newMemberId: () => `new-${this.ids++}`,
      topics: () => new Map([['orders', { id: TOPIC_ID, partitions: 4 }]]),
    });
  }

  /** What the coordinator shell does with effects: writes persist at once, conversions reach the classic machine. */
  take(fx: Effects | ConsumerEffects, from: 'classic' | 'consumer'): void {
    for (const r of fx.replies) this.replies.set(r.to, r.result);
    for (const w of fx.writes) {
      this.written.push(w.records.map((r) => recordType(r.key)));
      if (from === 'classic') this.take(this.classic.persisted(this.now, w.token, ErrorCode.NONE), from);
      else this.take(this.consumers.persisted(this.now, w.token, ErrorCode.NONE), from);
    }
    if ('upgraded' in fx) {
      for (const id of fx.upgraded) this.take(this.classic.release(this.now, id), 'classic');
      for (const g of fx.downgraded) this.take(this.classic.adopt(this.now, g), 'classic');
    }
  }

  joinInput(memberId: string, clientId: string): JoinInput {
    return {
      groupId: 'g', memberId, groupInstanceId: null, clientId, clientHost: '/127.0.0.1', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['orders']) }], requireKnownMemberId: false,
    };
  }

  /** JoinGroup routed as the shell routes it. */
  join(memberId: string, clientId: string): number {
    const to = this.to++;
    const j = this.joinInput(memberId, clientId);
    if (this.consumers.hasMembers('g')) this.take(this.consumers.classicJoin(this.now, to, j), 'consumer');
    else this.take(this.classic.join(this.now, to, j), 'classic');
    return to;
  }

  sync(memberId: string, generationId: number, assignments: { memberId: string; assignment: Buffer }[] = []): SyncResult {
    const to = this.to++;
    const s = { groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments };
    if (this.consumers.has('g')) this.take(this.consumers.classicSync(this.now, to, s), 'consumer');
    else this.take(this.classic.sync(this.now, to, s), 'classic');
    return this.replies.get(to) as SyncResult;
  }

  heartbeat(memberId: string, generationId: number): number {
    const to = this.to++;
    const h = { groupId: 'g', generationId, memberId, groupInstanceId: null };
    if (this.consumers.has('g')) this.take(this.consumers.classicHeartbeat(this.now, to, h), 'consumer');
    else this.take(this.classic.heartbeat(this.now, to, h), 'classic');
    return (this.replies.get(to) as { errorCode: number }).errorCode;
  }

  consumerHeartbeat(req: Partial<HeartbeatRequest> & { memberId: string; memberEpoch: number }): HeartbeatResult {
    const to = this.to++;
    const full: HeartbeatRequest = {
      groupId: 'g', instanceId: null, rackId: null, rebalanceTimeoutMs: req.memberEpoch === 0 ? 20_000 : -1,
      subscribedTopicNames: req.memberEpoch === 0 ? ['orders'] : null, subscribedTopicRegex: null, serverAssignor: null,
      topicPartitions: req.memberEpoch === 0 ? [] : null, clientId: 'java', clientHost: '/127.0.0.1', ...req,
    };
    this.take(this.consumers.heartbeat(this.now, to, full, this.classic.presence('g')), 'consumer');
    return this.replies.get(to) as HeartbeatResult;
  }

  /** Two classic members join and the leader assigns partitions 0,1 and 2,3: a Stable classic group. */
  stableClassicGroup(): { a: string; b: string; generation: number } {
    const ja = this.join('', 'a');
    const jb = this.join('', 'b');
    // The initial rebalance delay runs out on the clock.
    while (!this.replies.has(ja)) this.take(this.classic.tick((this.now += 100)), 'classic');
    const ra = this.replies.get(ja) as JoinResult;
    const rb = this.replies.get(jb) as JoinResult;
    const leader = ra.leader === ra.memberId ? ra : rb;
    const follower = leader === ra ? rb : ra;
    const assignments = [
      { memberId: leader.memberId, assignment: encodeAssignment(0, [{ topic: 'orders', partitions: [0, 1] }]) },
      { memberId: follower.memberId, assignment: encodeAssignment(0, [{ topic: 'orders', partitions: [2, 3] }]) },
    ];
    const syncFollower = this.to;
    this.to++;
    this.take(this.classic.sync(this.now, syncFollower, { groupId: 'g', generationId: ra.generationId, memberId: follower.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }), 'classic');
    this.sync(leader.memberId, ra.generationId, assignments);
    return { a: ra.memberId, b: rb.memberId, generation: ra.generationId };
  }
}

t.test('a consumer-protocol member joining a live classic group upgrades it; its classic members rejoin and give up what the new member gets', async (t) => {
  const c = new Coordinator('bidirectional');
  const { a, b, generation } = c.stableClassicGroup();
  t.equal(c.heartbeat(a, generation), ErrorCode.NONE, 'the classic group is stable');

  const joined = c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: 0 });
  t.equal(joined.errorCode, ErrorCode.NONE, 'the consumer-protocol member joins the classic group');
  t.ok(c.consumers.hasMembers('g'), 'the group is a consumer group now');
  t.equal(c.classic.presence('g'), 'absent', 'the classic machine keeps nothing of it (no offsets were committed)');
  t.equal(c.written.at(-1)![0], GROUP_RECORD, 'the classic group record is deleted in the batch that writes the consumer group');
  t.same(joined.assignment?.topicPartitions ?? [], [], 'the new member waits: every partition is still held by a classic member');

  t.equal(c.heartbeat(a, generation), ErrorCode.REBALANCE_IN_PROGRESS, 'a classic member is told to rejoin');
  const rejoin = c.replies.get(c.join(a, 'a')) as JoinResult;
  t.equal(rejoin.errorCode, ErrorCode.NONE, 'it rejoins the consumer group with JoinGroup');
  t.equal(rejoin.leader, '', 'nobody leads: the coordinator assigns');
  const kept = decodeAssignment(c.sync(a, rejoin.generationId).assignment);
  t.ok(kept.flatMap((x) => x.partitions).length <= 2, 'SyncGroup hands it what it keeps');
  t.equal(c.heartbeat(a, rejoin.generationId), ErrorCode.REBALANCE_IN_PROGRESS, 'having partitions to give up, it rejoins once more');
  const second = c.replies.get(c.join(a, 'a')) as JoinResult;
  t.ok(second.generationId > generation, 'the second join moves it to the new epoch');
  c.sync(a, second.generationId);
  t.equal(c.heartbeat(a, second.generationId), ErrorCode.NONE, 'then it is reconciled');

  for (const id of [b]) {
    c.join(id, 'b');
    const r = c.replies.get(c.join(id, 'b')) as JoinResult;
    c.sync(id, r.generationId);
  }
  const java = c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: joined.memberEpoch, topicPartitions: [] });
  const javaPartitions = java.assignment?.topicPartitions.flatMap((x) => x.partitions) ?? [];
  t.ok(javaPartitions.length > 0, 'once the classic members released them, the consumer-protocol member gets its partitions');
});

t.test('group.consumer.migration.policy refuses the upgrade with GROUP_ID_NOT_FOUND, as Kafka does', async (t) => {
  for (const policy of ['disabled', 'downgrade'] as const) {
    const c = new Coordinator(policy);
    const { a, generation } = c.stableClassicGroup();
    const writes = c.written.length;
    const r = c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: 0 });
    t.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, `${policy}: the consumer-protocol member is refused`);
    t.match(r.errorMessage, /disabled/, `${policy}: the message says why`);
    t.equal(c.written.length, writes, `${policy}: nothing written`);
    t.equal(c.heartbeat(a, generation), ErrorCode.NONE, `${policy}: the classic group goes on`);
  }
});

t.test('a classic group of another protocol type is not upgraded', async (t) => {
  const c = new Coordinator('bidirectional');
  const to = 1_000;
  c.take(c.classic.join(c.now, to, { ...c.joinInput('', 'connect'), protocolType: 'connect' }), 'classic');
  const r = c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: 0 });
  t.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  t.match(r.errorMessage, /does not use the consumer embedded protocol/);
});

t.test('the last consumer-protocol member leaving downgrades the group to a classic one, when allowed', async (t) => {
  for (const policy of ['bidirectional', 'upgrade'] as const) {
    const c = new Coordinator(policy);
    const joined = c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: 0 });
    const first = c.replies.get(c.join('', 'kafkajs')) as JoinResult;
    t.equal(first.errorCode, ErrorCode.NONE, `${policy}: a classic member joins the consumer group`);
    const sync = c.sync(first.memberId, first.generationId);
    t.equal(sync.errorCode, ErrorCode.NONE, `${policy}: and syncs`);

    c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: -1 });
    const group = c.classic.presence('g');
    if (policy === 'bidirectional') {
      t.notOk(c.consumers.has('g'), 'bidirectional: the consumer group is gone');
      t.equal(typeof group, 'object', 'bidirectional: a live classic group took its place');
      t.equal((group as Group).state, 'PreparingRebalance', 'bidirectional: which rebalances the classic way');
      t.same([...(group as Group).members.keys()], [first.memberId], 'bidirectional: with the classic member in it');
      t.ok(c.written.at(-1)!.includes(GROUP_RECORD), 'bidirectional: its record is written with the consumer group\'s tombstones');
      const rejoined = c.replies.get(c.join(first.memberId, 'kafkajs')) as JoinResult;
      t.equal(rejoined.leader, first.memberId, 'bidirectional: the classic member rejoins and leads');
    } else {
      t.ok(c.consumers.hasMembers('g'), 'upgrade only: the group stays a consumer group');
      t.equal(c.heartbeat(first.memberId, first.generationId) === ErrorCode.NONE || c.heartbeat(first.memberId, first.generationId) === ErrorCode.REBALANCE_IN_PROGRESS, true, 'upgrade only: its classic member stays in it');
    }
    t.ok(joined.memberEpoch > 0);
  }
});

t.test('a classic member of a consumer group: protocol and generation checks, sync timeout', async (t) => {
  const c = new Coordinator('bidirectional');
  c.consumerHeartbeat({ memberId: 'java-1', memberEpoch: 0 });
  const to = 2_000;
  c.take(c.consumers.classicJoin(c.now, to, { ...c.joinInput('', 'x'), protocolType: 'connect' }), 'consumer');
  t.equal((c.replies.get(to) as JoinResult).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'another protocol type is refused');
  c.take(c.consumers.classicJoin(c.now, to + 1, { ...c.joinInput('', 'x'), requireKnownMemberId: true }), 'consumer');
  const required = c.replies.get(to + 1) as JoinResult;
  t.equal(required.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'a v4+ join first gets its member id');
  const joined = c.replies.get(c.join(required.memberId, 'x')) as JoinResult;
  t.equal(joined.errorCode, ErrorCode.NONE);
  t.equal(c.sync(joined.memberId, joined.generationId + 1).errorCode, ErrorCode.ILLEGAL_GENERATION, 'a sync for another generation is refused');
  t.equal(c.consumers.validateCommit('g', joined.memberId, joined.generationId + 1), ErrorCode.ILLEGAL_GENERATION, 'so is its commit (not STALE_MEMBER_EPOCH)');
  c.now += 20_001;
  c.take(c.consumers.tick(c.now), 'consumer');
  t.equal(c.heartbeat(joined.memberId, joined.generationId), ErrorCode.UNKNOWN_MEMBER_ID, 'no SyncGroup within the rebalance timeout: fenced');
});
