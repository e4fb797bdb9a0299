// The consumer group protocol (KIP-848) state machine driven directly with a simulated clock:
// heartbeats in, replies and records out; records "persist" by handing tokens back and are
// replayed into a fresh machine to see what a coordinator taking over would know.
import t from 'tap';
import { uniformAssign, rangeAssign } from '../../src/shared/groups/consumer-assignors.js';
import type { ConsumerEffects, HeartbeatRequest, HeartbeatResult } from '../../src/shared/groups/consumer-group-io.js';
import { ConsumerGroupStateMachine } from '../../src/shared/groups/consumer-group-state-machine.js';
import type { Write } from '../../src/shared/groups/group-io.js';
import { ErrorCode } from '../../src/shared/errors.js';

const SESSION = 45_000;
const REBALANCE = 30_000;
const T1 = 'AAAAAAAAAAAAAAAAAAAAAQ';
const T2 = 'AAAAAAAAAAAAAAAAAAAAAg';

type Owned = { topicId: string; partitions: number[] }[];

class Harness {
  now = 1_000_000;
  readonly log: Write[] = [];
  readonly replies = new Map<number, HeartbeatResult | { errorCode: number }>();
  readonly topics = new Map([
    ['orders', { id: T1, partitions: 6 }],
    ['audit', { id: T2, partitions: 3 }],
  ]);
  private to = 1;
  readonly m: ConsumerGroupStateMachine;

  constructor(assignors = ['uniform', 'range']) {
    this.m = this.machine(assignors);
  }

  machine(assignors = ['uniform', 'range']): ConsumerGroupStateMachine {
    return new ConsumerGroupStateMachine({
      sessionTimeoutMs: SESSION,
      heartbeatIntervalMs: 5000,
      assignors,
      maxSize: 10,
      migrationPolicy: 'bidirectional',
      newMemberId: () => `generated-${this.to}`,
      topics: () => this.topics,
    });
  }

  /** Applies effects, persisting every write at once (in order). */
  take(fx: ConsumerEffects): void {
    for (const r of fx.replies) this.replies.set(r.to, r.result);
    for (const w of fx.writes) {
      this.log.push(w);
      this.take(this.m.persisted(this.now, w.token, ErrorCode.NONE));
    }
  }

  hb(req: Partial<HeartbeatRequest> & { memberId: string; memberEpoch: number }): HeartbeatResult {
    const to = this.to++;
    const full: HeartbeatRequest = {
      groupId: 'g',
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: req.memberEpoch === 0 ? REBALANCE : -1,
      subscribedTopicNames: req.memberEpoch === 0 ? ['orders'] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: req.memberEpoch === 0 ? [] : null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
      ...req,
    };
    this.take(this.m.heartbeat(this.now, to, full, 'absent'));
    return this.replies.get(to) as HeartbeatResult;
  }

  tick(ms: number): void {
    this.now += ms;
    this.take(this.m.tick(this.now));
  }
}

/** A client: remembers its epoch and what it owns, revokes what it is no longer given. */
class Client {
  epoch = 0;
  owned: Owned = [];
  left = false;
  constructor(
    readonly h: Harness,
    readonly id: string,
    readonly extra: Partial<HeartbeatRequest> = {},
  ) {}

  beat(): HeartbeatResult {
    const r = this.h.hb({ memberId: this.id, memberEpoch: this.epoch, ...(this.epoch === 0 ? this.extra : { topicPartitions: this.owned }) });
    if (r.errorCode === ErrorCode.FENCED_MEMBER_EPOCH || r.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      this.epoch = 0;
      this.owned = [];
      return r;
    }
    if (r.errorCode !== ErrorCode.NONE) return r;
    this.epoch = r.memberEpoch;
    if (r.assignment) this.owned = r.assignment.topicPartitions;
    return r;
  }

  count(): number {
    return this.owned.reduce((n, tp) => n + tp.partitions.length, 0);
  }
}

function keys(owned: Owned): string[] {
  return owned.flatMap((tp) => tp.partitions.map((p) => `${tp.topicId}:${p}`));
}

t.test('assignors: uniform balances and sticks, range gives co-partitioned ranges', async (t) => {
  const topics = new Map([
    ['orders', { id: T1, partitions: 6 }],
    ['audit', { id: T2, partitions: 3 }],
  ]);
  const none = new Map<string, number[]>();
  const a = uniformAssign(
    [
      { memberId: 'a', topics: ['orders'], previous: none },
      { memberId: 'b', topics: ['orders'], previous: none },
      { memberId: 'c', topics: ['orders'], previous: none },
    ],
    topics,
  );
  t.same([...a.values()].map((x) => x.get(T1)?.length), [2, 2, 2], 'six partitions over three members, two each');
  const again = uniformAssign(
    [
      { memberId: 'a', topics: ['orders'], previous: a.get('a')! },
      { memberId: 'b', topics: ['orders'], previous: a.get('b')! },
    ],
    topics,
  );
  t.ok(a.get('a')!.get(T1)!.every((p) => again.get('a')!.get(T1)!.includes(p)), 'a member keeps its partitions when another leaves');
  t.equal(again.get('a')!.get(T1)!.length + again.get('b')!.get(T1)!.length, 6, 'the leaver\'s partitions go to the others');
  const r = rangeAssign(
    [
      { memberId: 'x', topics: ['orders', 'audit'], previous: none },
      { memberId: 'y', topics: ['orders', 'audit'], previous: none },
    ],
    topics,
  );
  t.same(r.get('x')!.get(T1), [0, 1, 2]);
  t.same(r.get('y')!.get(T1), [3, 4, 5]);
  t.same(r.get('x')!.get(T2), [0, 1], 'the first member takes the extra partition');
  t.same(r.get('y')!.get(T2), [2]);
});

t.test('a second member: the first revokes before the second is given anything', async (t) => {
  const h = new Harness();
  const a = new Client(h, 'a');
  const b = new Client(h, 'b');
  t.equal(a.beat().memberEpoch, 1);
  t.equal(a.count(), 6, 'alone, a member gets every partition');
  const rb = b.beat();
  t.equal(rb.memberEpoch, 2, 'the join bumps the group epoch');
  t.equal(b.count(), 0, 'the newcomer waits: every partition it is to get is still owned');
  const ra = a.beat();
  t.equal(ra.memberEpoch, 1, 'the owner keeps its epoch until it has revoked');
  t.equal(a.count(), 3, 'it is told to keep three (giving up the others)');
  t.equal(b.beat().memberEpoch, 2);
  t.equal(b.count(), 0, 'nothing for the newcomer while the revocation is unconfirmed');
  t.equal(a.beat().memberEpoch, 2, 'having reported its smaller set, the owner moves to the new epoch');
  b.beat();
  t.equal(b.count(), 3, 'then the newcomer gets the released partitions');
  t.same(new Set([...keys(a.owned), ...keys(b.owned)]).size, 6, 'no partition owned twice, none lost');
  const d = h.m.describe('g');
  t.equal(d.groupState, 'Stable');
  t.equal(d.assignmentEpoch, 2);
});

t.test('epochs: a stale epoch is fenced, the previous one is accepted once, commits need the current one', async (t) => {
  const h = new Harness();
  const a = new Client(h, 'a');
  a.beat();
  t.equal(h.hb({ memberId: 'a', memberEpoch: 7, topicPartitions: a.owned }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'an epoch from the future is fenced');
  t.equal(h.hb({ memberId: 'nobody', memberEpoch: 1 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal(h.m.validateCommit('g', 'a', 1), ErrorCode.NONE);
  t.equal(h.m.validateCommit('g', 'a', 0), ErrorCode.STALE_MEMBER_EPOCH);
  t.equal(h.m.validateCommit('g', 'zz', 1), ErrorCode.UNKNOWN_MEMBER_ID);
  t.equal(h.m.validateCommit('g', '', -1), ErrorCode.UNKNOWN_MEMBER_ID, 'a commit from outside the group is refused while it has members');
  const b = new Client(h, 'b');
  b.beat();
  a.beat();
  a.beat();
  t.equal(a.epoch, 2);
  // The reply with epoch 2 was lost: the member retries with epoch 1 and what it owns.
  t.equal(h.hb({ memberId: 'a', memberEpoch: 1, topicPartitions: a.owned }).errorCode, ErrorCode.NONE, 'the previous epoch with owned partitions it was given is accepted');
  t.equal(h.hb({ memberId: 'a', memberEpoch: 1, topicPartitions: [{ topicId: T1, partitions: [0, 1, 2, 3, 4, 5] }] }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH, 'not with partitions it no longer has');
});

t.test('leaving, session expiry and the revocation deadline', async (t) => {
  const h = new Harness();
  const a = new Client(h, 'a');
  const b = new Client(h, 'b');
  a.beat();
  b.beat();
  a.beat();
  a.beat();
  b.beat();
  t.equal(h.hb({ memberId: 'b', memberEpoch: -1 }).memberEpoch, -1, 'a leave answers with epoch -1');
  a.beat();
  t.equal(a.count(), 6, 'the leaver\'s partitions come back to the remaining member');
  const c = new Client(h, 'c');
  c.beat();
  a.beat(); // told to revoke, never confirms
  h.tick(REBALANCE);
  t.equal(h.m.describe('g').members.length, 1, 'a member that does not revoke within its rebalance timeout is removed');
  t.equal(a.beat().errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'and learns it');
  c.beat();
  t.equal(c.count(), 6);
  h.tick(SESSION);
  t.equal(h.m.describe('g').groupState, 'Empty', 'a silent member leaves with its session');
});

t.test('static members keep their partitions across a restart', async (t) => {
  const h = new Harness();
  const a = new Client(h, 'a1', { instanceId: 'i-a' });
  const b = new Client(h, 'b', {});
  a.beat();
  b.beat();
  a.beat();
  a.beat();
  b.beat();
  const before = keys(a.owned);
  t.equal(h.hb({ memberId: 'a1', memberEpoch: -2, instanceId: 'i-a' }).memberEpoch, -2, 'a static member leaves for now');
  t.equal(h.hb({ memberId: 'a2', memberEpoch: 0, instanceId: 'i-b' }).errorCode, ErrorCode.NONE, 'another instance id may join');
  const back = h.hb({ memberId: 'a2x', memberEpoch: 0, instanceId: 'i-a', subscribedTopicNames: ['orders'] });
  t.equal(back.errorCode, ErrorCode.NONE);
  t.same(keys(back.assignment!.topicPartitions).filter((k) => before.includes(k)).length > 0, true, 'it comes back under a new member id with its partitions');
  t.equal(h.hb({ memberId: 'a3', memberEpoch: 0, instanceId: 'i-a' }).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID, 'its instance id is not free while it is there');
});

t.test('requests Kafka refuses', async (t) => {
  const h = new Harness();
  t.equal(h.hb({ memberId: 'a', memberEpoch: 0, groupId: '' }).errorCode, ErrorCode.INVALID_REQUEST);
  t.equal(h.hb({ memberId: 'a', memberEpoch: 0, rebalanceTimeoutMs: -1 }).errorCode, ErrorCode.INVALID_REQUEST);
  t.equal(h.hb({ memberId: 'a', memberEpoch: 0, serverAssignor: 'sticky' }).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
  t.equal(h.hb({ memberId: 'a', memberEpoch: 3 }).errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'a heartbeat into no group');
});

t.test('seeded simulation: members join, leave, die and restart; a replayed machine agrees', async (t) => {
  let seed = 848;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const h = new Harness();
  const clients: Client[] = [];
  let next = 0;
  let violations = 0;
  for (let step = 0; step < 2000; step++) {
    const roll = rand(100);
    if (roll < 8 && clients.length < 6) clients.push(new Client(h, `m${next++}`, rand(2) ? { subscribedTopicNames: ['orders', 'audit'] } : {}));
    else if (roll < 11 && clients.length > 0) {
      const c = clients.splice(rand(clients.length), 1)[0]!;
      h.hb({ memberId: c.id, memberEpoch: -1 });
    } else if (roll < 13 && clients.length > 0) clients.splice(rand(clients.length), 1); // dies silently
    else if (roll < 15) h.tick(rand(20_000));
    else if (clients.length > 0) clients[rand(clients.length)]!.beat();
    // Safety: no partition is owned by two live clients at once.
    const seen = new Set<string>();
    for (const c of clients) for (const k of keys(c.owned)) {
      if (seen.has(k)) violations++;
      seen.add(k);
    }
  }
  t.equal(violations, 0, 'no partition was ever owned by two members at once');
  // Liveness: with the survivors heartbeating, the group settles with every partition owned.
  h.tick(SESSION);
  for (let i = 0; i < 10; i++) for (const c of clients) c.beat();
  const d = h.m.describe('g');
  if (clients.length > 0) {
    t.equal(d.groupState, 'Stable', 'the group settles');
    const owned = new Set(clients.flatMap((c) => keys(c.owned)));
    const subscribedAudit = clients.some((c) => (c.extra.subscribedTopicNames ?? ['orders']).includes('audit'));
    t.equal(owned.size, 6 + (subscribedAudit ? 3 : 0), 'every subscribed partition has an owner');
  } else {
    t.pass('no member survived');
    t.pass('nothing to own');
  }
  // A coordinator loading the records knows the same group.
  const fresh = h.machine();
  for (const w of h.log) for (const r of w.records) fresh.replay(h.now, r.key, r.value);
  fresh.loaded(h.now);
  const strip = (x: ReturnType<ConsumerGroupStateMachine['describe']>) => JSON.stringify({ ...x, members: [...x.members].sort((p, q) => (p.memberId < q.memberId ? -1 : 1)) });
  t.equal(strip(fresh.describe('g')), strip(h.m.describe('g')), 'replayed records give the same group, members, epochs and assignments');
});
