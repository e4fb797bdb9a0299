/**
 * Deterministic simulation of whole Raft clusters (3 and 5 nodes) on one seeded
 * scheduler: message loss, duplication, reordering and delay, network partitions,
 * crashes that lose whatever was not yet synced, restarts from the synced state.
 * After every event batch the Raft safety properties are checked; after the chaos
 * the network heals and a leader must appear and commit within a bounded time.
 *
 * Replay one seed with a trace: RAFT_SEED=1234 npx tap test/raft/simulation.test.ts
 * More seeds: RAFT_SEEDS=5000 npx tap test/raft/simulation.test.ts
 */
import t from 'tap';
import { Raft } from '../../src/workers/raft/core/raft.js';
import { seededRandom, type Random } from '../../src/workers/raft/core/prng.js';
import { type Entry, type HardState, type Message, type Ready, Role, type Snapshot } from '../../src/workers/raft/core/types.js';

const ELECTION_TICKS = 10;
const CHAOS_STEPS = 400;
const LEADER_BOUND = 10 * ELECTION_TICKS;
const COMMIT_BOUND = 20 * ELECTION_TICKS;
const COMPACT_AFTER = 8;

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Durable {
  hs: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

interface Node {
  id: number;
  raft: Raft | undefined;
  durable: Durable;
  pending: { rd: Ready; at: number } | undefined;
  applied: number;
  items: string[];
  /** Highest index whose commit was recorded for this node's current incarnation. */
  commitSeen: number;
  incarnation: number;
}

class Violation extends Error {}

class Simulation {
  readonly rng: Random;
  readonly nodes: Node[];
  readonly ids: number[];
  now = 0;
  private inbox = new Map<number, Message[]>();
  private group: number[];
  private lossRate = 0;
  private dupRate = 0;
  private maxDelay = 1;
  private leaders = new Map<number, number>();
  /** index -> committed entry and the lowest term at which any node saw it committed. */
  private committed = new Map<number, { term: number; data: string; atTerm: number }>();
  private appliedGlobal = new Map<number, string>();
  private proposalSeq = 0;
  private roles = new Map<number, string>();
  /** Fault rates drawn per seed, so seeds range from calm to hostile. */
  private faults: { loss: number; partition: number; crash: number; restart: number; lateSync: number };
  readonly trace: string[] | undefined;

  constructor(
    readonly seed: number,
    size: number,
    traceOn: boolean,
  ) {
    this.rng = seededRandom(seed);
    this.ids = Array.from({ length: size }, (_, i) => i + 1);
    this.group = new Array(size + 1).fill(0);
    this.trace = traceOn ? [] : undefined;
    const r = this.rng;
    this.faults = { loss: r.next() * 0.3, partition: 0.005 + r.next() * 0.02, crash: r.next() * 0.06, restart: 0.02 + r.next() * 0.15, lateSync: r.next() * 0.6 };
    this.nodes = this.ids.map((id) => ({
      id,
      raft: undefined,
      durable: { hs: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] },
      pending: undefined,
      applied: 0,
      items: [],
      commitSeen: 0,
      incarnation: 0,
    }));
    for (const n of this.nodes) this.start(n);
  }

  log(s: string): void {
    this.trace?.push(`[t=${this.now}] ${s}`);
  }

  start(n: Node): void {
    n.incarnation++;
    const d = n.durable;
    n.raft = new Raft({
      id: n.id,
      voters: this.ids,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      random: seededRandom(this.seed * 7919 + n.id * 104729 + n.incarnation),
      hardState: { ...d.hs },
      snapshot: d.snapshot,
      entries: [...d.entries],
      maxEntriesPerAppend: 4,
      snapshotResendHeartbeats: 3,
    });
    n.pending = undefined;
    n.applied = d.snapshot?.index ?? 0;
    n.items = d.snapshot ? (JSON.parse(dec.decode(d.snapshot.data)) as string[]) : [];
    n.commitSeen = n.raft.log.snapshotIndex;
    this.log(`node ${n.id} starts: term ${d.hs.term} vote ${d.hs.vote} commit ${d.hs.commit} snap ${d.snapshot?.index ?? 0} last ${n.raft.log.lastIndex()}`);
  }

  crash(n: Node): void {
    this.log(`node ${n.id} crashes${n.pending ? ' (unsynced ready lost)' : ''}`);
    n.raft = undefined;
    n.pending = undefined;
  }

  send(m: Message): void {
    if (this.rng.next() < this.lossRate) return;
    const copies = this.rng.next() < this.dupRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const at = this.now + 1 + this.rng.int(this.maxDelay);
      let q = this.inbox.get(at);
      if (!q) this.inbox.set(at, (q = []));
      q.push(m);
    }
  }

  /** Persist completes: write the durable state, release dependent messages, apply, advance. */
  completePersist(n: Node): void {
    const raft = n.raft!;
    const { rd } = n.pending!;
    n.pending = undefined;
    const d = n.durable;
    if (rd.snapshot) {
      d.snapshot = rd.snapshot;
      d.entries = [];
      n.applied = rd.snapshot.index;
      n.items = JSON.parse(dec.decode(rd.snapshot.data)) as string[];
      this.log(`node ${n.id} installs snapshot ${rd.snapshot.index}`);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0].index;
      d.entries = d.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    if (rd.hardState) d.hs = { ...rd.hardState };
    for (const m of rd.messagesAfterPersist) {
      if (m.to === n.id) raft.step(m);
      else this.send(m);
    }
    for (const e of rd.committedEntries) this.apply(n, e);
    raft.advance();
    this.checkLeaders();
    if (n.applied - raft.log.snapshotIndex >= COMPACT_AFTER && this.rng.next() < 0.5) {
      const snap = { index: n.applied, term: raft.log.term(n.applied)!, data: enc.encode(JSON.stringify(n.items)) };
      d.snapshot = snap;
      d.entries = d.entries.filter((e) => e.index > snap.index);
      raft.compact(snap);
      this.log(`node ${n.id} compacts through ${snap.index}`);
    }
  }

  apply(n: Node, e: Entry): void {
    if (e.index !== n.applied + 1) throw new Violation(`node ${n.id} applied ${e.index} after ${n.applied}`);
    n.applied = e.index;
    const key = `${e.term}:${dec.decode(e.data)}`;
    const prev = this.appliedGlobal.get(e.index);
    if (prev === undefined) this.appliedGlobal.set(e.index, key);
    else if (prev !== key) throw new Violation(`state machine safety: node ${n.id} applied ${key} at ${e.index}, another node applied ${prev}`);
    if (e.data.length > 0) n.items.push(dec.decode(e.data));
  }

  /** Take and handle Readies until the node is quiet or waits on its disk. */
  process(n: Node): void {
    for (let guard = 0; guard < 1000; guard++) {
      const raft = n.raft;
      if (!raft) return;
      if (n.pending) {
        if (n.pending.at > this.now) return;
        this.completePersist(n);
        continue;
      }
      if (!raft.hasReady()) return;
      const rd = raft.ready();
      for (const m of rd.messages) this.send(m);
      // Most writes sync at once; some stay unsynced until a later step, exposed to crashes.
      n.pending = { rd, at: this.rng.next() >= this.faults.lateSync ? this.now : this.now + 1 + this.rng.int(2) };
    }
    throw new Violation(`node ${n.id} never went quiet`);
  }

  checkLeaders(): void {
    for (const n of this.nodes) {
      const r = n.raft;
      if (this.trace && r) {
        const state = `${r.role}@${r.term}`;
        if (state !== this.roles.get(n.id)) this.log(`node ${n.id} is ${state} (last ${r.log.lastIndex()}/${r.log.lastTerm()} commit ${r.log.committed})`);
        this.roles.set(n.id, state);
      }
      if (!r || r.role !== Role.Leader) continue;
      const known = this.leaders.get(r.term);
      if (known === undefined) {
        this.leaders.set(r.term, n.id);
        this.log(`node ${n.id} leads term ${r.term}`);
      } else if (known !== n.id) throw new Violation(`election safety: nodes ${known} and ${n.id} both lead term ${r.term}`);
    }
  }

  checkLogs(): void {
    const up = this.nodes.filter((n) => n.raft);
    for (const n of up) {
      const r = n.raft!;
      for (let i = Math.max(n.commitSeen, r.log.snapshotIndex) + 1; i <= r.log.committed; i++) {
        const e = r.log.entry(i)!;
        const data = dec.decode(e.data);
        const c = this.committed.get(i);
        if (!c) this.committed.set(i, { term: e.term, data, atTerm: r.term });
        else if (c.term !== e.term || c.data !== data) throw new Violation(`node ${n.id} committed ${e.term}:${data} at ${i}, committed elsewhere: ${c.term}:${c.data}`);
        else if (r.term < c.atTerm) c.atTerm = r.term;
      }
      n.commitSeen = Math.max(n.commitSeen, r.log.committed);
    }
    for (const n of up) {
      const r = n.raft!;
      if (r.role !== Role.Leader) continue;
      for (const [i, c] of this.committed) {
        if (c.atTerm > r.term || i <= r.log.snapshotIndex) continue;
        if (r.log.term(i) !== c.term) throw new Violation(`leader completeness: leader ${n.id} of term ${r.term} lacks entry ${i} (term ${c.term}) committed by term ${c.atTerm}`);
      }
    }
    for (let a = 0; a < up.length; a++) {
      for (let b = a + 1; b < up.length; b++) {
        const la = up[a].raft!.log;
        const lb = up[b].raft!.log;
        const lo = Math.max(la.firstIndex(), lb.firstIndex());
        const hi = Math.min(la.lastIndex(), lb.lastIndex());
        for (let i = hi; i >= lo; i--) {
          const ea = la.entry(i)!;
          const eb = lb.entry(i)!;
          if (ea.term !== eb.term) continue;
          // Same index and term: the entries and everything before them must be identical.
          for (let j = i; j >= lo; j--) {
            const xa = la.entry(j)!;
            const xb = lb.entry(j)!;
            if (xa.term !== xb.term || dec.decode(xa.data) !== dec.decode(xb.data)) {
              throw new Violation(`log matching: nodes ${up[a].id} and ${up[b].id} agree at ${i} (term ${ea.term}) but differ at ${j}`);
            }
          }
          break;
        }
      }
    }
  }

  propose(n: Node, tag: string): { index: number; term: number; key: string } | undefined {
    const r = n.raft;
    if (!r) return undefined;
    const data = `${tag}${this.proposalSeq++}`;
    const res = r.propose(enc.encode(data));
    if (!res.ok) return undefined;
    this.log(`node ${n.id} accepts proposal ${data} at ${res.index}`);
    return { index: res.index, term: res.term, key: `${res.term}:${data}` };
  }

  chaos(): void {
    const r = this.rng;
    const f = this.faults;
    const roll = r.next();
    if (roll < f.partition) {
      for (const id of this.ids) this.group[id] = r.int(2);
      this.log(`partition: ${this.ids.map((id) => `${id}:${this.group[id]}`).join(' ')}`);
    } else if (roll < 2 * f.partition) {
      // Cut the current leader (if any) off from everyone else.
      const leader = this.nodes.find((n) => n.raft?.role === Role.Leader) ?? this.nodes[r.int(this.nodes.length)];
      this.group.fill(0);
      this.group[leader.id] = 1;
      this.log(`node ${leader.id} isolated`);
    } else if (roll < 4 * f.partition) {
      this.group.fill(0);
      this.log('partition heals');
    }
    if (r.next() < f.crash) {
      const leader = this.nodes.find((n) => n.raft?.role === Role.Leader);
      const n = leader && r.next() < 0.6 ? leader : this.nodes[r.int(this.nodes.length)];
      if (n.raft) this.crash(n);
    }
    for (const n of this.nodes) if (!n.raft && r.next() < f.restart) this.start(n);
    if (r.next() < 0.4) this.propose(this.nodes[r.int(this.nodes.length)], 'p');
  }

  step(chaotic: boolean): void {
    this.now++;
    if (chaotic) this.chaos();
    const order = [...this.nodes].sort(() => this.rng.next() - 0.5);
    for (const n of order) n.raft?.tick();
    const due = this.inbox.get(this.now);
    this.inbox.delete(this.now);
    if (due) {
      for (let i = due.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [due[i], due[j]] = [due[j], due[i]];
      }
      for (const m of due) {
        const to = this.nodes[m.to - 1];
        if (!to.raft || this.group[m.from] !== this.group[m.to]) continue;
        to.raft.step(m);
        this.process(to);
        this.checkLeaders();
      }
    }
    for (const n of order) this.process(n);
    this.checkLeaders();
    this.checkLogs();
  }

  run(): void {
    this.lossRate = this.faults.loss;
    this.dupRate = 0.05;
    this.maxDelay = 1 + this.rng.int(5);
    for (let i = 0; i < CHAOS_STEPS; i++) this.step(true);

    this.log('network heals, every node restarts');
    this.group.fill(0);
    this.lossRate = 0;
    this.dupRate = 0;
    this.maxDelay = 1;
    for (const n of this.nodes) if (!n.raft) this.start(n);
    const healedAt = this.now;
    let leader: Node | undefined;
    while (!leader) {
      if (this.now - healedAt > LEADER_BOUND) throw new Violation(`no leader within ${LEADER_BOUND} ticks after the network healed`);
      this.step(false);
      leader = this.nodes.find((n) => n.raft?.role === Role.Leader && this.nodes.every((m) => m.raft!.term <= n.raft!.term));
    }
    let proposal: { index: number; term: number; key: string } | undefined;
    for (;;) {
      if (this.now - healedAt > COMMIT_BOUND) throw new Violation(`no proposal applied everywhere within ${COMMIT_BOUND} ticks after the network healed`);
      const l = this.nodes.find((n) => n.raft?.role === Role.Leader);
      // A proposal made in an older leader's term may be overwritten: propose again.
      if (l && (!proposal || proposal.term < l.raft!.term)) proposal = this.propose(l, 'final');
      this.step(false);
      if (!proposal) continue;
      const applied = this.appliedGlobal.get(proposal.index);
      if (applied === proposal.key && this.nodes.every((n) => n.applied >= proposal!.index)) break;
    }
  }
}

function runSeed(seed: number, trace: boolean): { ok: boolean; error: string; trace: string[] } {
  const sim = new Simulation(seed, seed % 2 === 0 ? 3 : 5, trace);
  try {
    sim.run();
    return { ok: true, error: '', trace: sim.trace ?? [] };
  } catch (err) {
    for (const n of sim.nodes) {
      const r = n.raft;
      const l = r?.log;
      sim.trace?.push(
        r && l
          ? `final: node ${n.id} ${r.role}@${r.term} lead ${r.lead} last ${l.lastIndex()} stable ${l.stableIndex} commit ${l.committed} applied ${l.applied} snapshot ${l.snapshotIndex}`
          : `final: node ${n.id} down`,
      );
    }
    return { ok: false, error: (err as Error).stack ?? String(err), trace: sim.trace ?? [] };
  }
}

const only = process.env.RAFT_SEED;
if (only !== undefined) {
  t.test(`seed ${only}`, async (t) => {
    const res = runSeed(Number(only), true);
    t.comment(res.trace.join('\n'));
    if (!res.ok) t.fail(res.error);
    else t.pass(`seed ${only} keeps every invariant`);
  });
} else {
  const count = Number(process.env.RAFT_SEEDS ?? 1000);
  const base = Number(process.env.RAFT_SEED_BASE ?? Date.now() % 1_000_000);
  t.test(`${count} seeds from ${base}`, async (t) => {
    const started = performance.now();
    const failures: string[] = [];
    for (let s = base; s < base + count; s++) {
      const res = runSeed(s, false);
      if (!res.ok) failures.push(`seed ${s}: ${res.error.split('\n')[0]}\n  replay: RAFT_SEED=${s} npx tap test/raft/simulation.test.ts`);
      if (failures.length >= 5) break;
    }
    const secs = (performance.now() - started) / 1000;
    t.comment(`${count} seeds in ${secs.toFixed(1)} s: ${(count / secs).toFixed(1)} seeds/s`);
    t.same(failures, [], 'every seed keeps every invariant and recovers after the network heals');
  });
}
