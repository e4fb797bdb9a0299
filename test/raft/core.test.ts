/**
 * The Raft core against sentences of the Raft paper (Ongaro & Ousterhout, extended
 * version), driven directly: an in-memory cluster that persists instantly and delivers
 * every message unless a node is cut off.
 */
import t from 'tap';
import { seededRandom } from '../../src/workers/raft/core/prng.js';
import { Raft } from '../../src/workers/raft/core/raft.js';
import { type Entry, type Message, MessageType, Role, type Snapshot, message } from '../../src/workers/raft/core/types.js';

const enc = new TextEncoder();
const ELECTION = 10;

class Cluster {
  readonly nodes = new Map<number, Raft>();
  readonly cut = new Set<number>();
  readonly applied = new Map<number, Entry[]>();
  readonly installed = new Map<number, Snapshot[]>();
  private queue: Message[] = [];

  constructor(size: number, seed = 1) {
    const voters = Array.from({ length: size }, (_, i) => i + 1);
    for (const id of voters) {
      this.nodes.set(id, new Raft({ id, voters, electionTicks: ELECTION, heartbeatTicks: 1, random: seededRandom(seed * 100 + id) }));
      this.applied.set(id, []);
      this.installed.set(id, []);
    }
  }

  node(id: number): Raft {
    return this.nodes.get(id)!;
  }

  send(m: Message): void {
    this.queue.push(m);
  }

  settle(): void {
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (const [id, r] of this.nodes) {
        while (r.hasReady()) {
          busy = true;
          const rd = r.ready();
          this.queue.push(...rd.messages);
          if (rd.snapshot) this.installed.get(id)!.push(rd.snapshot);
          this.applied.get(id)!.push(...rd.committedEntries);
          const local = rd.messagesAfterPersist.filter((m) => m.to === id);
          this.queue.push(...rd.messagesAfterPersist.filter((m) => m.to !== id));
          r.advance();
          for (const m of local) r.step(m);
        }
      }
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        if (this.cut.has(m.from) || this.cut.has(m.to)) continue;
        busy = true;
        this.node(m.to).step(m);
      }
      if (!busy) return;
    }
    throw new Error('cluster never settled');
  }

  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const r of this.nodes.values()) r.tick();
      this.settle();
    }
  }

  leader(): Raft | undefined {
    return [...this.nodes.values()].find((r) => r.role === Role.Leader && !this.cut.has(r.id));
  }

  electLeader(): Raft {
    for (let i = 0; i < 10 * ELECTION && !this.leader(); i++) this.tick();
    const l = this.leader();
    if (!l) throw new Error('no leader');
    return l;
  }
}

t.test('§5.2 a follower that hears from no leader for an election timeout starts an election, and one leader wins', async (t) => {
  const c = new Cluster(3);
  c.tick(ELECTION - 1);
  t.notOk(c.leader(), 'nobody campaigns before the election timeout');
  const leader = c.electLeader();
  t.equal(leader.term, 1, 'the winner leads term 1');
  for (const r of c.nodes.values()) {
    t.equal(r.term, 1);
    t.equal(r.lead, leader.id, `node ${r.id} follows the winner`);
  }
  const noop = leader.log.entry(1)!;
  t.same({ term: noop.term, len: noop.data.length }, { term: 1, len: 0 }, '§5.4.2 a new leader appends an empty entry of its term');
  t.equal(leader.log.committed, 1, 'and commits it');
});

t.test('§5.2 each server votes for at most one candidate per term, first come first served', async (t) => {
  const r = new Raft({ id: 1, voters: [1, 2, 3], electionTicks: ELECTION, heartbeatTicks: 1, random: seededRandom(1) });
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 5 }));
  r.step(message({ type: MessageType.Vote, from: 3, to: 1, term: 5 }));
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 5 }));
  const rd = r.ready();
  t.same(rd.messages, [], 'vote responses wait for the disk');
  t.same(rd.hardState, { term: 5, vote: 2, commit: 0 }, 'the vote is persisted with the term');
  t.same(
    rd.messagesAfterPersist.map((m) => [m.to, m.reject]),
    [
      [2, false],
      [3, true],
      [2, false],
    ],
    'granted to the first candidate (again when it asks again), refused to the second',
  );
});

t.test('§5.4.1 the voter denies its vote if its own log is more up-to-date', async (t) => {
  const r = new Raft({
    id: 1,
    voters: [1, 2, 3],
    electionTicks: ELECTION,
    heartbeatTicks: 1,
    random: seededRandom(1),
    hardState: { term: 3, vote: 0, commit: 0 },
    entries: [
      { index: 1, term: 1, data: enc.encode('a') },
      { index: 2, term: 3, data: enc.encode('b') },
    ],
  });
  r.step(message({ type: MessageType.Vote, from: 2, to: 1, term: 4, index: 5, logTerm: 2 }));
  r.step(message({ type: MessageType.Vote, from: 3, to: 1, term: 4, index: 2, logTerm: 3 }));
  t.same(
    r.ready().messagesAfterPersist.map((m) => [m.to, m.reject]),
    [
      [2, true],
      [3, false],
    ],
    'a longer log with an older last term loses to an equal one',
  );
});

t.test('§5.3 log matching: an Append whose previous entry does not match is refused, conflicting entries are replaced', async (t) => {
  const r = new Raft({
    id: 2,
    voters: [1, 2, 3],
    electionTicks: ELECTION,
    heartbeatTicks: 1,
    random: seededRandom(1),
    hardState: { term: 2, vote: 0, commit: 1 },
    entries: [
      { index: 1, term: 1, data: enc.encode('a') },
      { index: 2, term: 2, data: enc.encode('stale') },
      { index: 3, term: 2, data: enc.encode('stale') },
    ],
  });
  r.step(message({ type: MessageType.Append, from: 1, to: 2, term: 3, index: 3, logTerm: 3, entries: [] }));
  const refusal = r.ready().messagesAfterPersist[0];
  r.advance();
  t.ok(refusal.reject, 'refused: no entry (3, term 3) here');
  t.ok(refusal.rejectHint <= 3, 'with a hint where the logs may agree');
  const fresh = [
    { index: 2, term: 3, data: enc.encode('b') },
    { index: 3, term: 3, data: enc.encode('c') },
  ];
  r.step(message({ type: MessageType.Append, from: 1, to: 2, term: 3, index: 1, logTerm: 1, entries: fresh, commit: 3 }));
  const rd = r.ready();
  t.same(rd.entries.map((e) => [e.index, e.term]), [
    [2, 3],
    [3, 3],
  ], 'the conflicting suffix is replaced');
  t.same(rd.messagesAfterPersist.map((m) => [m.reject, m.index]), [[false, 3]], 'and acknowledged');
  r.advance();
  t.equal(r.log.committed, 3, 'the leader commit index is followed');
});

t.test('§5.4.2 entries of earlier terms commit only through an entry of the current term', async (t) => {
  const r = new Raft({
    id: 1,
    voters: [1, 2, 3],
    electionTicks: ELECTION,
    heartbeatTicks: 1,
    random: seededRandom(1),
    hardState: { term: 2, vote: 0, commit: 1 },
    entries: [
      { index: 1, term: 1, data: enc.encode('a') },
      { index: 2, term: 2, data: enc.encode('b') },
    ],
  });
  r.campaign();
  const step = (m: Message): void => r.step(m);
  const cycle = (): void => {
    const rd = r.ready();
    r.advance();
    rd.messagesAfterPersist.filter((m) => m.to === 1).forEach(step);
  };
  cycle();
  r.step(message({ type: MessageType.PreVoteResp, from: 2, to: 1, term: 3 }));
  cycle();
  r.step(message({ type: MessageType.VoteResp, from: 2, to: 1, term: 3 }));
  t.equal(r.role, Role.Leader, 'leader of term 3');
  cycle();
  t.equal(r.log.lastIndex(), 3, 'with its empty entry at index 3');
  r.step(message({ type: MessageType.AppendResp, from: 2, to: 1, term: 3, index: 2 }));
  t.equal(r.log.committed, 1, 'entry 2 (term 2) on a majority is not committed by counting');
  r.step(message({ type: MessageType.AppendResp, from: 2, to: 1, term: 3, index: 3 }));
  t.equal(r.log.committed, 3, 'once entry 3 (term 3) is on a majority, both commit');
});

t.test('pre-vote: a rejoining node does not disrupt a stable leader', async (t) => {
  const c = new Cluster(3);
  const leader = c.electLeader();
  const term = leader.term;
  const other = [...c.nodes.values()].find((r) => r !== leader)!;
  c.cut.add(other.id);
  c.tick(5 * ELECTION);
  t.equal(other.term, term, 'the cut-off node campaigns with pre-votes only: its term stays');
  c.cut.delete(other.id);
  c.tick(2 * ELECTION);
  t.equal(c.leader(), leader, 'the leader keeps leading');
  t.equal(leader.term, term, 'in the same term');
  t.equal(other.lead, leader.id, 'and the node rejoins as its follower');
});

t.test('a lost leader: once every follower saw its connection close, one campaigns and wins without waiting out a timeout', async (t) => {
  const c = new Cluster(3);
  const leader = c.electLeader();
  const [a, b] = [...c.nodes.values()].filter((r) => r !== leader);
  c.cut.add(leader.id);
  a!.leaderLost();
  a!.campaign();
  c.settle();
  t.notOk(c.leader(), 'a follower still in the leader\'s lease ignores the pre-vote');
  b!.leaderLost();
  t.equal(b!.lead, 0, 'the lease ends with the lost connection');
  a!.campaign();
  c.settle();
  t.equal(c.leader(), a, 'the next campaign wins at once, no tick passed');
  t.equal(b!.lead, a!.id);
  t.equal(a!.term, leader.term + 1, 'in the next term');
  leader.leaderLost();
  t.equal(leader.role, Role.Leader, 'a leader ignores it');
});

t.test('check-quorum: a leader that cannot reach a majority steps down', async (t) => {
  const c = new Cluster(5);
  const leader = c.electLeader();
  c.cut.add(leader.id);
  // Responses heard just before the cut still count for the round under way.
  c.tick(2 * ELECTION);
  t.equal(leader.role, Role.Follower, 'steps down within two election timeouts');
  t.equal(leader.propose(enc.encode('x')).ok, false, 'and refuses proposals');
  const newLeader = c.electLeader();
  t.not(newLeader.id, leader.id, 'the majority elects another leader');
  const follower = [...c.nodes.values()].find((r) => r !== newLeader && r !== leader)!;
  const refused = follower.propose(enc.encode('y'));
  t.same(refused, { ok: false, leaderId: newLeader.id }, 'a follower refuses proposals, naming the leader');
});

t.test('§7 a follower missing compacted entries receives a snapshot, then the rest of the log', async (t) => {
  const c = new Cluster(3);
  const leader = c.electLeader();
  const lagging = [...c.nodes.values()].find((r) => r !== leader)!;
  c.cut.add(lagging.id);
  for (let i = 0; i < 20; i++) {
    leader.propose(enc.encode(`v${i}`));
    c.settle();
  }
  const at = leader.log.applied;
  leader.compact({ index: at, term: leader.log.term(at)!, data: enc.encode(`state@${at}`) });
  t.equal(leader.log.firstIndex(), at + 1, 'the leader compacted its log');
  leader.propose(enc.encode('after'));
  c.cut.delete(lagging.id);
  c.tick(3);
  const snaps = c.installed.get(lagging.id)!;
  t.same(snaps.map((s) => s.index), [at], 'the lagging follower installed the snapshot');
  t.equal(new TextDecoder().decode(snaps[0].data), `state@${at}`);
  t.equal(lagging.log.lastIndex(), leader.log.lastIndex(), 'then received the entries after it');
  t.equal(lagging.log.committed, leader.log.committed);
  const applied = c.applied.get(lagging.id)!;
  t.equal(applied[applied.length - 1].index, leader.log.lastIndex(), 'and applied them');
});
