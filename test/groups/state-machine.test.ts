// The classic group state machine driven directly: events in with a simulated clock, replies
// and records out. Records are "persisted" by handing the write tokens back, and replayed
// into a fresh machine to check what a restarted coordinator would know.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { Effects, JoinInput, JoinResult, SyncResult, Write } from '../../src/shared/groups/group-io.js';
import { GroupStateMachine } from '../../src/shared/groups/group-state-machine.js';

const SESSION = 10_000;
const REBALANCE = 30_000;

class Harness {
  now = 1_000_000;
  readonly replies = new Map<number, unknown>();
  readonly writes: Write[] = [];
  readonly log: Write[] = [];
  private to = 1;
  private ids = 0;
  readonly m: GroupStateMachine;

  constructor(initialDelay = 0) {
    this.m = new GroupStateMachine({
      initialRebalanceDelayMs: initialDelay,
      minSessionTimeoutMs: 1000,
      maxSessionTimeoutMs: 300_000,
      maxMetadataBytes: 100,
      newMemberId: (clientId) => `${clientId}-${++this.ids}`,
    });
  }

  take(fx: Effects): void {
    for (const r of fx.replies) this.replies.set(r.to, r.result);
    this.writes.push(...fx.writes);
  }

  /** Sends an event; returns its reply id. */
  send(event: (now: number, to: number) => Effects): number {
    const to = this.to++;
    this.take(event(this.now, to));
    return to;
  }

  reply<T>(to: number): T | undefined {
    return this.replies.get(to) as T | undefined;
  }

  persistAll(errorCode: number = ErrorCode.NONE): void {
    while (this.writes.length) {
      const w = this.writes.shift()!;
      if (errorCode === ErrorCode.NONE) this.log.push(w);
      this.take(this.m.persisted(this.now, w.token, errorCode));
    }
  }

  /** Moves the clock, firing the machine's timer at each deadline on the way, as the shell does. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (let at = this.m.nextDeadline(); at !== null && at <= until; at = this.m.nextDeadline()) {
      this.now = Math.max(this.now, at);
      this.take(this.m.tick(this.now));
    }
    this.now = until;
    this.take(this.m.tick(this.now));
  }

  join(member: Partial<JoinInput> & { clientId: string }): number {
    const input: JoinInput = {
      groupId: 'g',
      memberId: '',
      groupInstanceId: null,
      clientHost: '/127.0.0.1',
      sessionTimeoutMs: SESSION,
      rebalanceTimeoutMs: REBALANCE,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from(`sub-${member.clientId}`) }],
      requireKnownMemberId: true,
      ...member,
    };
    return this.send((now, to) => this.m.join(now, to, input));
  }

  /** A dynamic member's two-step join (MEMBER_ID_REQUIRED, then with the id). */
  joinNew(clientId: string, extra: Partial<JoinInput> = {}): { memberId: string; to: number } {
    const first = this.reply<JoinResult>(this.join({ clientId, ...extra }))!;
    if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`);
    return { memberId: first.memberId, to: this.join({ clientId, memberId: first.memberId, ...extra }) };
  }

  sync(memberId: string, generationId: number, assignments: Record<string, string> = {}, groupInstanceId: string | null = null): number {
    return this.send((now, to) =>
      this.m.sync(now, to, {
        groupId: 'g',
        generationId,
        memberId,
        groupInstanceId,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: Object.entries(assignments).map(([id, a]) => ({ memberId: id, assignment: Buffer.from(a) })),
      }),
    );
  }

  heartbeat(memberId: string, generationId: number, groupInstanceId: string | null = null): number | undefined {
    const to = this.send((now, to) => this.m.heartbeat(now, to, { groupId: 'g', generationId, memberId, groupInstanceId }));
    return this.reply<{ errorCode: number }>(to)?.errorCode;
  }

  /** Replays everything persisted so far into a fresh machine: a coordinator after restart. */
  restarted(): GroupStateMachine {
    const fresh = new GroupStateMachine({ initialRebalanceDelayMs: 0, minSessionTimeoutMs: 1000, maxSessionTimeoutMs: 300_000, maxMetadataBytes: 100, newMemberId: (c) => `${c}-r` });
    for (const w of this.log) for (const r of w.records) fresh.replay(this.now, r.key, r.value);
    fresh.loaded(this.now);
    return fresh;
  }
}

t.test('one member: MEMBER_ID_REQUIRED, join, sync, heartbeat', async (t) => {
  const h = new Harness();
  const first = h.reply<JoinResult>(h.join({ clientId: 'c1' }))!;
  t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED, 'first join of a dynamic member asks for a member id');
  t.match(first.memberId, /^c1-/, 'and hands one out');
  const j = h.reply<JoinResult>(h.join({ clientId: 'c1', memberId: first.memberId }))!;
  t.equal(j.errorCode, ErrorCode.NONE);
  t.equal(j.generationId, 1, 'generation 1');
  t.equal(j.leader, first.memberId, 'the only member leads');
  t.equal(j.protocolName, 'range');
  t.same(j.members.map((m) => [m.memberId, m.metadata.toString()]), [[first.memberId, 'sub-c1']], 'the leader sees every member with its metadata');
  t.equal(h.m.describe('g').groupState, 'CompletingRebalance');

  const s = h.sync(first.memberId, 1, { [first.memberId]: 'all-partitions' });
  t.equal(h.reply(s), undefined, 'the sync waits for the assignment to be persisted');
  t.equal(h.writes.length, 1, 'one group record to write');
  h.persistAll();
  t.equal(h.reply<SyncResult>(s)!.assignment.toString(), 'all-partitions', 'the leader gets its assignment');
  t.equal(h.m.describe('g').groupState, 'Stable');
  t.equal(h.heartbeat(first.memberId, 1), ErrorCode.NONE, 'heartbeat in a Stable group');
  t.equal(h.heartbeat(first.memberId, 0), ErrorCode.ILLEGAL_GENERATION, 'wrong generation');
  t.equal(h.heartbeat('nobody', 1), ErrorCode.UNKNOWN_MEMBER_ID, 'unknown member');
});

t.test('validation errors on join', async (t) => {
  const h = new Harness();
  t.equal(h.reply<JoinResult>(h.join({ clientId: 'c', groupId: '' }))!.errorCode, ErrorCode.INVALID_GROUP_ID);
  t.equal(h.reply<JoinResult>(h.join({ clientId: 'c', sessionTimeoutMs: 10 }))!.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  t.equal(h.reply<JoinResult>(h.join({ clientId: 'c', memberId: 'ghost' }))!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'unknown member id, no group');
  t.equal(h.reply<JoinResult>(h.join({ clientId: 'c', protocols: [] }))!.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'no protocols');
  const a = h.joinNew('a');
  t.equal(h.reply<JoinResult>(a.to)!.errorCode, ErrorCode.NONE);
  const other = h.join({ clientId: 'b', requireKnownMemberId: false, protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] });
  t.equal(h.reply<JoinResult>(other)!.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'no protocol in common with the group');
  t.equal(h.m.list().length, 1, 'only the real group exists');
});

t.test('a second member triggers a rebalance; both get the new generation', async (t) => {
  const h = new Harness();
  const a = h.joinNew('a');
  const ja = h.reply<JoinResult>(a.to)!;
  h.sync(a.memberId, 1, { [a.memberId]: 'p0,p1' });
  h.persistAll();

  const b = h.joinNew('b');
  t.equal(h.reply(b.to), undefined, 'b waits for the existing member to rejoin');
  t.equal(h.m.describe('g').groupState, 'PreparingRebalance');
  t.equal(h.heartbeat(a.memberId, ja.generationId), ErrorCode.REBALANCE_IN_PROGRESS, 'a learns of the rebalance by heartbeat');
  t.equal(h.reply<SyncResult>(h.sync(a.memberId, 1))!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS, 'a sync during the join phase is refused');

  const a2 = h.join({ clientId: 'a', memberId: a.memberId });
  const ra = h.reply<JoinResult>(a2)!;
  const rb = h.reply<JoinResult>(b.to)!;
  t.equal(ra.generationId, 2, 'generation 2 once every member rejoined');
  t.equal(rb.generationId, 2);
  t.equal(ra.leader, a.memberId, 'the first member keeps leading');
  t.equal(ra.members.length, 2, 'leader sees both members');
  t.equal(rb.members.length, 0, 'followers see none');

  const sb = h.sync(b.memberId, 2);
  t.equal(h.reply(sb), undefined, 'the follower waits for the leader');
  t.equal(h.reply<SyncResult>(h.sync(b.memberId, 1))!.errorCode, ErrorCode.ILLEGAL_GENERATION, 'old generation');
  const sa = h.sync(a.memberId, 2, { [a.memberId]: 'p0', [b.memberId]: 'p1' });
  h.persistAll();
  t.equal(h.reply<SyncResult>(sa)!.assignment.toString(), 'p0');
  t.equal(h.reply<SyncResult>(sb)!.assignment.toString(), 'p1', 'the waiting follower gets its assignment');
  t.equal(h.m.describe('g').groupState, 'Stable');
  t.equal(h.reply<SyncResult>(h.sync(b.memberId, 2))!.assignment.toString(), 'p1', 'a sync in a Stable group gets the assignment at once');
});

t.test('a member that does not rejoin in time is dropped; the leader moves on', async (t) => {
  const h = new Harness();
  const a = h.joinNew('a');
  h.sync(a.memberId, 1, {});
  h.persistAll();
  const b = h.joinNew('b');
  // a stays alive by heartbeat but never rejoins.
  for (let waited = 0; waited < REBALANCE - SESSION / 2; waited += SESSION / 2) {
    h.advance(SESSION / 2);
    t.equal(h.heartbeat(a.memberId, 1), ErrorCode.REBALANCE_IN_PROGRESS);
  }
  h.advance(SESSION / 2 - 1);
  t.equal(h.reply(b.to), undefined, 'still waiting just before the rebalance timeout');
  h.advance(1);
  const rb = h.reply<JoinResult>(b.to)!;
  t.equal(rb.generationId, 2, 'the join phase ends at the rebalance timeout');
  t.equal(rb.leader, b.memberId, 'b leads: a did not rejoin');
  t.same(rb.members.map((m) => m.memberId), [b.memberId], 'a is gone');
  t.equal(h.heartbeat(a.memberId, 1), ErrorCode.UNKNOWN_MEMBER_ID, 'a is told it is unknown');
});

t.test('session expiry and leaving', async (t) => {
  const h = new Harness();
  const a = h.joinNew('a');
  t.equal(h.reply<JoinResult>(a.to)!.generationId, 1, 'with no initial delay, a alone makes generation 1');
  const b = h.joinNew('b');
  const ra = h.reply<JoinResult>(h.join({ clientId: 'a', memberId: a.memberId }))!;
  const gen = h.reply<JoinResult>(b.to)!.generationId;
  t.equal(gen, 2, 'b and the rejoining a make generation 2');
  t.equal(ra.generationId, gen);
  h.sync(a.memberId, gen, { [a.memberId]: 'x', [b.memberId]: 'y' });
  h.sync(b.memberId, gen);
  h.persistAll();
  t.equal(h.m.describe('g').groupState, 'Stable');

  h.advance(SESSION / 2);
  t.equal(h.heartbeat(a.memberId, gen), ErrorCode.NONE, 'a keeps heartbeating');
  h.advance(SESSION / 2);
  t.equal(h.m.describe('g').members.length, 1, 'b, silent for a session timeout, expired');
  t.equal(h.m.describe('g').groupState, 'PreparingRebalance', 'and its departure starts a rebalance');
  const again = h.reply<JoinResult>(h.join({ clientId: 'a', memberId: a.memberId }))!;
  t.equal(again.generationId, gen + 1, 'a alone completes the next generation');

  const leave = h.send((now, to) => h.m.leave(now, to, 'g', [{ memberId: a.memberId, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }]));
  const lr = h.reply<{ members: { errorCode: number }[] }>(leave)!;
  t.same(lr.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID], 'per-member leave results');
  h.persistAll();
  t.equal(h.m.describe('g').groupState, 'Empty', 'the last member left: Empty');
  t.same(h.m.describe('g').members, []);
});

t.test('group.initial.rebalance.delay.ms gathers members into the first generation', async (t) => {
  const h = new Harness(3000);
  const a = h.joinNew('a');
  h.advance(2000);
  const b = h.joinNew('b');
  h.advance(2000);
  t.equal(h.reply(a.to), undefined, 'a new member extends the delay');
  h.advance(2000);
  const ra = h.reply<JoinResult>(a.to)!;
  const rb = h.reply<JoinResult>(b.to)!;
  t.equal(ra.generationId, 1, 'one generation for both');
  t.equal(rb.generationId, 1);
  t.equal(ra.members.length, 2);
});

t.test('static members: restart without rebalance, fencing of the old instance', async (t) => {
  const h = new Harness();
  const s1 = h.reply<JoinResult>(h.join({ clientId: 's', groupInstanceId: 'inst-1' }))!;
  t.equal(s1.errorCode, ErrorCode.NONE, 'a static member joins without MEMBER_ID_REQUIRED');
  const d = h.joinNew('d');
  h.join({ clientId: 's', memberId: s1.memberId, groupInstanceId: 'inst-1' });
  const gen = h.reply<JoinResult>(d.to)!.generationId;
  h.sync(s1.memberId, gen, { [s1.memberId]: 'sp', [d.memberId]: 'dp' }, 'inst-1');
  h.persistAll();
  t.equal(h.m.describe('g').groupState, 'Stable');

  const restartedJoin = h.join({ clientId: 's', groupInstanceId: 'inst-1' });
  h.persistAll();
  const r = h.reply<JoinResult>(restartedJoin)!;
  t.equal(r.errorCode, ErrorCode.NONE);
  t.not(r.memberId, s1.memberId, 'the restarted instance gets a new member id');
  t.equal(r.generationId, gen, 'no rebalance: same generation');
  t.equal(h.m.describe('g').groupState, 'Stable', 'the group stays Stable');
  t.equal(h.reply<SyncResult>(h.sync(r.memberId, gen, {}, 'inst-1'))!.assignment.toString(), 'sp', 'and keeps its assignment');
  t.equal(h.heartbeat(s1.memberId, gen, 'inst-1'), ErrorCode.FENCED_INSTANCE_ID, 'the old instance is fenced');
  t.equal(h.heartbeat(d.memberId, gen), ErrorCode.NONE, 'the dynamic member was not disturbed');

  const leave = h.send((now, to) => h.m.leave(now, to, 'g', [{ memberId: '', groupInstanceId: 'inst-1' }]));
  t.same(h.reply<{ members: { errorCode: number }[] }>(leave)!.members.map((m) => m.errorCode), [ErrorCode.NONE], 'leave by instance id');
  t.equal(h.m.describe('g').groupState, 'PreparingRebalance', 'a static member leaving explicitly rebalances');
});

t.test('offset commits: validation, durability, fetch, restart, delete', async (t) => {
  const h = new Harness();
  const commit = (generationId: number, memberId: string, offset: number, metadata: string | null = null): number =>
    h.send((now, to) => h.m.commitOffsets(now, to, { groupId: 'g', generationId, memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset, leaderEpoch: 3, metadata }] }));
  const codes = (to: number): number[] | undefined => h.reply<{ errorCodes: number[] }>(to)?.errorCodes;

  const simple = commit(-1, '', 5);
  t.equal(codes(simple), undefined, 'a commit is answered only once written');
  t.same(h.m.fetchOffsets('g', [{ name: 't', partitions: [0] }]).map((o) => o.offset), [-1], 'and counts only once written');
  h.persistAll();
  t.same(codes(simple), [ErrorCode.NONE], 'simple (generation -1) commit into an empty group');
  t.same(h.m.fetchOffsets('g', null).map((o) => [o.topic, o.partition, o.offset, o.leaderEpoch]), [['t', 0, 5, 3]]);
  t.same(codes(commit(-1, '', 6, 'x'.repeat(101))), [ErrorCode.OFFSET_METADATA_TOO_LARGE], 'metadata over the limit');

  const failed = commit(-1, '', 7);
  h.persistAll(ErrorCode.NOT_ENOUGH_REPLICAS);
  t.same(codes(failed), [ErrorCode.COORDINATOR_NOT_AVAILABLE], 'a failed write is reported as the coordinator error');
  t.equal(h.m.fetchOffsets('g', null)[0]!.offset, 5, 'and changes nothing');

  const a = h.joinNew('a');
  t.same(codes(commit(1, a.memberId, 8)), [ErrorCode.REBALANCE_IN_PROGRESS], 'no commits while the assignment is being decided');
  h.sync(a.memberId, 1, {});
  h.persistAll();
  t.same(codes(commit(0, a.memberId, 8)), [ErrorCode.ILLEGAL_GENERATION], 'stale generation');
  t.same(codes(commit(1, 'ghost', 8)), [ErrorCode.UNKNOWN_MEMBER_ID], 'unknown member');
  t.same(codes(commit(-1, '', 8)), [ErrorCode.UNKNOWN_MEMBER_ID], 'simple commit into a live group');
  const ok = commit(1, a.memberId, 9);
  h.persistAll();
  t.same(codes(ok), [ErrorCode.NONE], 'member commit');

  const back = h.restarted();
  t.equal(back.fetchOffsets('g', [{ name: 't', partitions: [0] }])[0]!.offset, 9, 'committed offsets survive a reload');
  const desc = back.describe('g');
  t.equal(desc.groupState, 'Stable', 'the group comes back Stable');
  t.same(desc.members.map((m) => m.memberId), [a.memberId], 'with its member');

  const delBusy = h.send((now, to) => h.m.deleteGroup(now, to, 'g'));
  t.equal(h.reply<{ errorCode: number }>(delBusy)!.errorCode, ErrorCode.NON_EMPTY_GROUP, 'a group with members cannot be deleted');
  h.send((now, to) => h.m.leave(now, to, 'g', [{ memberId: a.memberId, groupInstanceId: null }]));
  h.persistAll();
  const del = h.send((now, to) => h.m.deleteGroup(now, to, 'g'));
  h.persistAll();
  t.equal(h.reply<{ errorCode: number }>(del)!.errorCode, ErrorCode.NONE, 'an empty group is deleted');
  t.equal(h.m.describe('g').groupState, 'Dead');
  t.equal(h.restarted().describe('g').groupState, 'Dead', 'and stays deleted after a reload');
  t.equal(h.reply<{ errorCode: number }>(h.send((now, to) => h.m.deleteGroup(now, to, 'g')))!.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
});

t.test('a failed assignment write sends the group back to rebalance', async (t) => {
  const h = new Harness();
  const a = h.joinNew('a');
  const s = h.sync(a.memberId, 1, { [a.memberId]: 'x' });
  h.persistAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  t.equal(h.reply<SyncResult>(s)!.errorCode, ErrorCode.NOT_COORDINATOR, 'the client is sent to find the coordinator');
  t.equal(h.m.describe('g').groupState, 'PreparingRebalance');
});

t.test('abandon answers everything waiting', async (t) => {
  const h = new Harness();
  const a = h.joinNew('a');
  h.sync(a.memberId, 1, {});
  h.persistAll();
  const b = h.joinNew('b');
  h.take(h.m.abandon(ErrorCode.NOT_COORDINATOR));
  t.equal(h.reply<JoinResult>(b.to)!.errorCode, ErrorCode.NOT_COORDINATOR);
  t.equal(h.m.nextDeadline(), null, 'nothing left to time');
});
