/**
 * A seeded, deterministic simulation of one partition replicated on three brokers, driven
 * through the real replication state machine (PartitionReplica) with in-memory logs: producers
 * write acks=all to whoever they believe leads, followers fetch (request and response are
 * separate steps, so views go stale in between), group commits fsync at random, brokers crash
 * (losing what was not fsynced) and restart, the controller fences the dead, elects a leader
 * from the ISR, applies ISR changes and reassigns the partition among four brokers (the new
 * replicas added, the old ones removed once every target replica is in the ISR, leadership
 * moved off a removed leader), and metadata reaches each broker late. The controller also
 * fences live brokers by mistake (as a closed connection that was only a network blip makes it
 * do) and unfences them once they applied the fence, without a restart. Each broker
 * checkpoints its high watermark on its timer (replication-offset-checkpoint) and a restart
 * starts from the checkpointed mark, capped by the log it recovered, as the log manager hands
 * it to the partition worker. After every step
 * the checker asserts Kafka's replication guarantees:
 * - an acks=all success is durable on at least min.insync.replicas brokers when it is answered;
 * - every acknowledged write stays, at its offset, on every broker of the controller's ISR;
 * - the high watermark a consumer may see never moves backwards, across leader changes: a
 *   consumer sends the leader epoch it knows (KIP-320) and a leader at an older epoch refuses
 *   it, so the mark shown at one epoch must not be below one shown at the same or an older
 *   epoch (a live leader fenced by mistake may still show its own, older mark at its own
 *   epoch, until it learns);
 * - below that mark, every broker of the ISR holds the same records as the first leader that
 *   showed them, and no broker of the ISR ever truncates one of those records.
 *
 * In write-caching mode a replica holds what it wrote rather than what it fsynced, and a crash
 * is a process crash: the page cache keeps what was written, and the restart's recovery
 * fsyncs it. The guarantees are the same with "written" for "durable": an acks=all success is
 * in the page cache of at least min.insync.replicas brokers when it is answered.
 *
 * A failing seed prints its trace. More seeds: REPLICATION_SEEDS=20000 npx tap test/replication/simulation.test.ts
 */
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import type { HostedPartition } from '../../src/shared/worker-types.js';
import { seededRandom, type Random } from '../../src/workers/raft/core/prng.js';
import { epochEndOffset, type EpochEntry } from '../../src/workers/partition/log/leader-epoch-cache.js';
import { PartitionReplica, truncationPoint, type LogEnds, type Released } from '../../src/workers/partition/replication/partition-replica.js';

const BROKERS = [1, 2, 3, 4];
/** The partition starts on three of the four brokers. */
const FIRST_REPLICAS = [1, 2, 3];
const MIN_ISR = 2;
const LAG_MAX_MS = 300;
const STEPS = 400;

interface Entry {
  epoch: number;
  /** The write's id (unique per produce). */
  id: number;
}

interface Broker {
  id: number;
  alive: boolean;
  log: Entry[];
  /** Entries below this are fsynced. */
  durable: number;
  replica: PartitionReplica<number>;
  /** The partition epoch of the metadata this broker has applied (-1: none yet). */
  applied: number;
  /** The high watermark its leader last sent: learned once the records below it are fsynced. */
  leaderHw: number;
  /** The leader epoch cache, kept by the same rules as the log's (leader-epoch-cache.ts). */
  epochs: EpochEntry[];
  /** The high watermark in its replication-offset-checkpoint (survives crashes). */
  checkpointedHw: number | undefined;
}

/** A fetch the leader answered, on its way back to the follower. */
interface InFlightFetch {
  follower: number;
  leader: number;
  leaderEpoch: number;
  answer: { kind: 'diverging'; epoch: number; endOffset: number } | { kind: 'records'; from: number; entries: Entry[]; hw: number };
}

interface Controller {
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  /** During a reassignment: the target, then the replicas being removed. */
  replicas: number[];
  /** The target replicas of a reassignment under way. */
  target: number[] | null;
  isr: number[];
  fenced: Set<number>;
}

function ends(b: Broker): LogEnds {
  return { logStartOffset: 0, logEndOffset: b.log.length, writtenEndOffset: b.log.length, durableEndOffset: b.durable };
}

/** Records that `epoch` starts at `startOffset` when it is newer than the latest (the log's rule). */
function assignEpoch(b: Broker, epoch: number, startOffset: number): void {
  const last = b.epochs[b.epochs.length - 1];
  if (!last || epoch > last.epoch) b.epochs.push({ epoch, startOffset });
}

/** The log was cut at `endOffset`: epochs starting there or later go. */
function truncateEpochs(b: Broker, endOffset: number): void {
  b.epochs = b.epochs.filter((e) => e.startOffset < endOffset);
}

class Simulation {
  readonly trace: string[] = [];
  readonly problems: string[] = [];
  private now = 0;
  private nextId = 1;
  private readonly brokers = new Map<number, Broker>();
  private readonly ctl: Controller;
  private fetches: InFlightFetch[] = [];
  private proposals: { from: number; isr: number[]; leaderEpoch: number; partitionEpoch: number }[] = [];
  /** Acknowledged writes: id -> offset. */
  private readonly acked = new Map<number, number>();
  /** The highest high watermark shown to consumers at each leader epoch. */
  private readonly shownAt = new Map<number, number>();
  /** The records below the highest high watermark any leader showed. */
  private readonly committed: Entry[] = [];
  /** Replicas a reassignment added that joined the ISR under the leadership that saw them added. */
  addedJoinedSameLeader = 0;
  private adding: { replicas: number[]; leaderEpoch: number } | null = null;
  /** Writes a leader took and has not answered: id -> leader broker. */
  private readonly inFlight = new Map<number, number>();

  constructor(
    private readonly rnd: Random,
    private readonly rates: { crash: number; fsync: number; deliver: number; mistake: number },
    private readonly writeCaching: boolean,
  ) {
    // A partition's first epoch is not always 0 (it may have been led before its logs were new).
    this.ctl = { leader: 1, leaderEpoch: rnd.int(3), partitionEpoch: 0, replicas: [...FIRST_REPLICAS], target: null, isr: [...FIRST_REPLICAS], fenced: new Set() };
    for (const id of BROKERS) this.brokers.set(id, { id, alive: true, log: [], durable: 0, replica: new PartitionReplica<number>(id), applied: -1, leaderHw: 0, epochs: [], checkpointedHw: undefined });
  }

  run(steps: number): void {
    for (const b of this.brokers.values()) this.deliver(b);
    for (let i = 0; i < steps && this.problems.length === 0; i++) {
      this.now += 1 + this.rnd.int(40);
      this.step();
      this.check();
    }
  }

  private hosted(): HostedPartition {
    return {
      topic: 't', topicId: '0'.repeat(32), partition: 0, leader: this.ctl.leader, leaderEpoch: this.ctl.leaderEpoch,
      partitionEpoch: this.ctl.partitionEpoch, replicas: [...this.ctl.replicas], isr: [...this.ctl.isr], minIsr: MIN_ISR,
      logConfig: this.writeCaching ? { writeCaching: true } : {},
    };
  }

  private step(): void {
    const r = this.rnd.next();
    const alive = [...this.brokers.values()].filter((b) => b.alive);
    const any = alive[this.rnd.int(alive.length)];
    if (r < 0.25) this.produce(alive);
    else if (r < 0.25 + this.rates.fsync) any && this.fsync(any);
    else if (r < 0.55) any && this.fetchRequest(any);
    else if (r < 0.7) this.fetchResponse();
    else if (r < 0.7 + this.rates.deliver) any && this.deliver(any);
    else if (r < 0.85) any && this.tick(any);
    else if (r < 0.9) this.controllerStep();
    else if (r < 0.9 + this.rates.crash) any && alive.length > 1 && this.crash(any);
    else this.restartOne();
  }

  /** A producer sends to the broker it believes leads: usually the controller's leader, sometimes a stale one. */
  private produce(alive: Broker[]): void {
    const target = this.rnd.next() < 0.8 ? this.brokers.get(this.ctl.leader) : alive[this.rnd.int(alive.length)];
    if (!target || !target.alive) return;
    const id = this.nextId++;
    const error = target.replica.produceError(-1);
    if (error !== ErrorCode.NONE) return;
    const term = target.replica.leadership;
    assignEpoch(target, target.replica.leaderEpoch, target.log.length);
    target.log.push({ epoch: target.replica.leaderEpoch, id });
    this.trace.push(`${this.now} produce ${id} -> b${target.id} @${target.log.length - 1} e${target.replica.leaderEpoch}`);
    this.inFlight.set(id, target.id);
    // The worker hears of the write before the append's own answer comes back.
    for (const a of target.replica.written(ends(target)).released) this.answer(target, a);
    const answer = target.replica.appended(term, target.log.length - 1, id);
    if (answer) this.answer(target, answer);
  }

  private fsync(b: Broker): void {
    b.durable = b.log.length;
    this.trace.push(`${this.now} fsync b${b.id} -> ${b.durable}`);
    for (const a of b.replica.durable(ends(b)).released) this.answer(b, a);
    b.replica.learnedHighWatermark(b.leaderHw, ends(b));
  }

  private fetchRequest(f: Broker): void {
    const leaderId = f.replica.followedLeader;
    // A fetcher has one request in flight and fetches on only from what it holds.
    if (leaderId === undefined || this.held(f) < f.log.length || this.fetches.some((x) => x.follower === f.id)) return;
    const l = this.brokers.get(leaderId)!;
    if (!l.alive || l.replica.leaderEpoch !== f.replica.leaderEpoch) return;
    const offset = f.log.length;
    const lastEpoch = f.log.length ? f.log[f.log.length - 1]!.epoch : -1;
    this.trace.push(`${this.now} b${f.id} fetches from b${l.id} [${l.log.map((e) => `${e.id}e${e.epoch}`)}] at ${offset} e${lastEpoch}`);
    const ans = l.replica.followerFetch(f.id, offset, lastEpoch, ends(l), (e) => epochEndOffset(l.epochs, e, l.log.length), l.log.length, this.now);
    if (ans.kind === 'error') return;
    if (ans.kind === 'diverging') {
      this.fetches.push({ follower: f.id, leader: l.id, leaderEpoch: l.replica.leaderEpoch, answer: { kind: 'diverging', epoch: ans.epoch, endOffset: ans.endOffset } });
      return;
    }
    for (const a of ans.released) this.answer(l, a);
    const n = this.rnd.int(6);
    const entries = l.log.slice(offset, Math.min(ans.upper, offset + n)).map((e) => ({ ...e }));
    this.fetches.push({ follower: f.id, leader: l.id, leaderEpoch: l.replica.leaderEpoch, answer: { kind: 'records', from: offset, entries, hw: l.replica.highWatermark } });
  }

  private fetchResponse(): void {
    if (this.fetches.length === 0) return;
    const [x] = this.fetches.splice(this.rnd.int(this.fetches.length), 1);
    const f = this.brokers.get(x!.follower)!;
    // The fetcher of a leader the follower no longer follows drops what it receives.
    if (!f.alive || f.replica.followedLeader !== x!.leader || f.replica.leaderEpoch !== x!.leaderEpoch) return;
    const a = x!.answer;
    if (a.kind === 'diverging') {
      const local = epochEndOffset(f.epochs, a.epoch, f.log.length);
      const to = truncationPoint({ epoch: a.epoch, endOffset: a.endOffset }, local, ends(f));
      this.trace.push(`${this.now} b${f.id} [${f.log.map((e) => `${e.id}e${e.epoch}`)}] diverges from b${x!.leader} at e${a.epoch}/${a.endOffset}: truncate to ${to}`);
      this.truncate(f, to);
      return;
    }
    if (a.from !== f.log.length) return;
    a.entries.forEach((e, i) => assignEpoch(f, e.epoch, a.from + i));
    f.log.push(...a.entries);
    f.leaderHw = a.hw;
    if (a.entries.length === 0 || this.writeCaching) f.replica.learnedHighWatermark(a.hw, ends(f));
    this.trace.push(`${this.now} b${f.id} appends ${a.entries.length} from b${x!.leader} at ${a.from}, hw ${a.hw}`);
  }

  private truncate(b: Broker, to: number): void {
    // Below the shown mark a replica of the ISR may only drop records that diverge from what
    // was shown. One outside it may follow a leader that lost its leadership and truncate to
    // that leader's log, as on Kafka: it cannot be elected, and it fetches the records again
    // before it can rejoin the ISR.
    const inIsr = this.ctl.isr.includes(b.id);
    for (let o = to; inIsr && o < Math.min(b.log.length, this.committed.length); o++) {
      if (b.log[o]!.id === this.committed[o]!.id) {
        this.problems.push(`b${b.id} truncates to ${to}, dropping committed write ${b.log[o]!.id} at ${o}`);
        break;
      }
    }
    b.log.length = Math.min(b.log.length, to);
    b.durable = Math.min(b.durable, b.log.length);
    truncateEpochs(b, b.log.length);
  }

  private deliver(b: Broker): void {
    if (!b.alive || b.applied >= this.ctl.partitionEpoch) return;
    b.applied = this.ctl.partitionEpoch;
    if (!this.ctl.replicas.includes(b.id)) {
      // No longer (or not yet) a replica: the worker forgets the partition's replication state.
      for (const a of b.replica.removed(ErrorCode.NOT_LEADER_OR_FOLLOWER)) this.answer(b, a);
      b.replica = new PartitionReplica<number>(b.id);
      // Its log is deleted, and its checkpoint entry with it.
      b.checkpointedHw = undefined;
      this.trace.push(`${this.now} b${b.id} applies metadata p${this.ctl.partitionEpoch}: not a replica`);
      return;
    }
    const out = b.replica.applyMetadata(this.hosted(), ends(b), this.now);
    if (out.startEpoch) assignEpoch(b, out.startEpoch.epoch, out.startEpoch.endOffset);
    this.trace.push(`${this.now} b${b.id} applies metadata L${this.ctl.leader} e${this.ctl.leaderEpoch} p${this.ctl.partitionEpoch} isr [${this.ctl.isr}]${out.startEpoch ? ' and leads' : ''}`);
    for (const a of out.released) this.answer(b, a);
  }

  private tick(b: Broker): void {
    // The checkpoint timer fires with the ISR check.
    b.checkpointedHw = b.replica.knownHighWatermark ?? b.checkpointedHw;
    const p = b.replica.proposeIsr(this.now, LAG_MAX_MS);
    if (!p) return;
    this.trace.push(`${this.now} b${b.id} proposes isr [${p.isr}] at e${p.leaderEpoch} p${p.partitionEpoch}`);
    this.proposals.push({ from: b.id, ...p });
  }

  /**
   * The controller: an AlterPartition, fencing a dead broker (its session expired or its
   * connection closed) or a live one by mistake, unfencing a live one that heartbeats after it
   * applied its fence, or a reassignment.
   */
  private controllerStep(): void {
    const dead = [...this.brokers.values()].find((b) => !b.alive && !this.ctl.fenced.has(b.id));
    if (dead && (this.proposals.length === 0 || this.rnd.next() < 0.5)) {
      this.fence(dead.id);
      return;
    }
    const back = [...this.brokers.values()].find((b) => b.alive && this.ctl.fenced.has(b.id) && b.applied >= this.ctl.partitionEpoch);
    if (back && this.rnd.next() < 0.5) {
      this.ctl.fenced.delete(back.id);
      if (this.ctl.leader === -1 && this.ctl.isr.includes(back.id)) this.elect();
      this.trace.push(`${this.now} controller unfences live b${back.id}: L${this.ctl.leader} e${this.ctl.leaderEpoch}`);
      return;
    }
    const live = [...this.brokers.values()].filter((b) => b.alive && !this.ctl.fenced.has(b.id));
    if (live.length > 0 && this.rnd.next() < this.rates.mistake) {
      const b = live[this.rnd.int(live.length)]!;
      this.trace.push(`${this.now} controller fences live b${b.id} by mistake`);
      this.fence(b.id);
      return;
    }
    if (this.ctl.target === null && this.rnd.next() < 0.15) {
      this.reassign();
      return;
    }
    const p = this.proposals.shift();
    if (!p) return;
    // A refusal (stale epochs, or a fenced broker added, as Kafka refuses) reaches the leader.
    const stale = p.leaderEpoch !== this.ctl.leaderEpoch || p.partitionEpoch !== this.ctl.partitionEpoch || p.from !== this.ctl.leader;
    const error = stale ? ErrorCode.INVALID_UPDATE_VERSION : p.isr.some((r) => this.ctl.fenced.has(r) && !this.ctl.isr.includes(r)) ? ErrorCode.INELIGIBLE_REPLICA : ErrorCode.NONE;
    if (error !== ErrorCode.NONE) {
      const b = this.brokers.get(p.from)!;
      if (!b.alive) return;
      this.trace.push(`${this.now} controller refuses isr [${p.isr}] from b${p.from}: ${error}`);
      for (const a of b.replica.isrChangeRefused(p.leaderEpoch, p.partitionEpoch, error, ends(b)).released) this.answer(b, a);
      return;
    }
    const added = this.adding;
    if (added && added.leaderEpoch === this.ctl.leaderEpoch && p.isr.some((r) => added.replicas.includes(r) && !this.ctl.isr.includes(r))) this.addedJoinedSameLeader++;
    this.ctl.isr = p.isr;
    this.ctl.partitionEpoch++;
    this.trace.push(`${this.now} controller: isr [${p.isr}] p${this.ctl.partitionEpoch}`);
    this.finishReassignment();
  }

  /** Starts moving the partition to three of the four brokers, as the controller does (reassignments.ts). */
  private reassign(): void {
    const pool = [...BROKERS];
    const target: number[] = [];
    while (target.length < 3) target.push(pool.splice(this.rnd.int(pool.length), 1)[0]!);
    const removing = this.ctl.replicas.filter((r) => !target.includes(r));
    // Counted only when the leader leads this epoch already: the added replicas then reach it
    // as a change of replica set under its leadership, not with a new one.
    const leader = this.brokers.get(this.ctl.leader);
    const leading = leader !== undefined && leader.alive && leader.replica.isLeader && leader.replica.leaderEpoch === this.ctl.leaderEpoch;
    this.adding = leading ? { replicas: target.filter((r) => !this.ctl.replicas.includes(r)), leaderEpoch: this.ctl.leaderEpoch } : null;
    this.ctl.replicas = [...target, ...removing];
    this.ctl.target = target;
    this.ctl.partitionEpoch++;
    this.trace.push(`${this.now} controller reassigns to [${target}]: replicas [${this.ctl.replicas}] p${this.ctl.partitionEpoch}`);
    this.finishReassignment();
  }

  /** Once every target replica is in the ISR: the removed ones leave, and leadership if it was theirs. */
  private finishReassignment(): void {
    const target = this.ctl.target;
    if (target === null || !target.every((r) => this.ctl.isr.includes(r))) return;
    this.ctl.replicas = target;
    this.ctl.target = null;
    this.adding = null;
    this.ctl.isr = this.ctl.isr.filter((r) => target.includes(r));
    if (!target.includes(this.ctl.leader)) {
      const next = target.find((r) => this.ctl.isr.includes(r) && !this.ctl.fenced.has(r));
      this.ctl.leader = next ?? -1;
      this.ctl.leaderEpoch++;
    }
    this.ctl.partitionEpoch++;
    this.trace.push(`${this.now} controller finishes the reassignment: replicas [${target}] L${this.ctl.leader} e${this.ctl.leaderEpoch} isr [${this.ctl.isr}] p${this.ctl.partitionEpoch}`);
  }

  private fence(id: number): void {
    this.ctl.fenced.add(id);
    if (this.ctl.isr.length > 1 && this.ctl.isr.includes(id)) this.ctl.isr = this.ctl.isr.filter((r) => r !== id);
    if (this.ctl.leader === id || this.ctl.leader === -1) this.elect();
    else this.ctl.partitionEpoch++;
    this.trace.push(`${this.now} controller fences b${id}: L${this.ctl.leader} e${this.ctl.leaderEpoch} isr [${this.ctl.isr}]`);
  }

  /** A new leader from the live ISR (never an unclean election); -1 when none is live. */
  private elect(): void {
    const next = this.ctl.isr.find((r) => !this.ctl.fenced.has(r));
    this.ctl.leader = next ?? -1;
    this.ctl.leaderEpoch++;
    this.ctl.partitionEpoch++;
  }

  private crash(b: Broker): void {
    b.alive = false;
    // Write caching: the process dies, the page cache keeps the log, and recovery fsyncs it.
    if (this.writeCaching) b.durable = b.log.length;
    else b.log.length = b.durable;
    // Recovery keeps the epochs of the records that survived.
    truncateEpochs(b, b.log.length);
    for (const [id, leader] of this.inFlight) if (leader === b.id) this.inFlight.delete(id);
    this.fetches = this.fetches.filter((x) => x.follower !== b.id && x.leader !== b.id);
    this.trace.push(`${this.now} crash b${b.id} (log ${b.log.length})`);
  }

  private restartOne(): void {
    const b = [...this.brokers.values()].find((x) => !x.alive && this.ctl.fenced.has(x.id));
    if (!b) return;
    b.alive = true;
    b.replica = new PartitionReplica<number>(b.id, b.checkpointedHw === undefined ? undefined : Math.min(b.checkpointedHw, b.log.length));
    b.applied = -1;
    b.leaderHw = 0;
    this.ctl.fenced.delete(b.id);
    if (this.ctl.leader === -1 && this.ctl.isr.includes(b.id)) this.elect();
    this.trace.push(`${this.now} restart b${b.id} (log ${b.log.length}); controller L${this.ctl.leader} e${this.ctl.leaderEpoch}`);
  }

  /** The end of what a broker holds: fsynced, or written in write-caching mode. */
  private held(b: Broker): number {
    return this.writeCaching ? b.log.length : b.durable;
  }

  private answer(b: Broker, a: Released<number>): void {
    this.inFlight.delete(a.payload);
    if (a.error !== ErrorCode.NONE) return;
    const offset = b.log.findIndex((e) => e.id === a.payload);
    if (offset < 0) {
      this.problems.push(`write ${a.payload} acknowledged by b${b.id}, which does not hold it`);
      return;
    }
    const holders = [...this.brokers.values()].filter((x) => this.held(x) > offset && x.log[offset]?.id === a.payload).map((x) => x.id);
    this.trace.push(`${this.now} ack ${a.payload} @${offset} by b${b.id}, held by [${holders}]`);
    if (holders.length < MIN_ISR) this.problems.push(`write ${a.payload} acknowledged while held only by [${holders}]`);
    if (this.acked.has(a.payload)) this.problems.push(`write ${a.payload} acknowledged twice`);
    this.acked.set(a.payload, offset);
  }

  private check(): void {
    for (const [id, offset] of this.acked) {
      for (const r of this.ctl.isr) {
        const b = this.brokers.get(r)!;
        if (this.held(b) <= offset || b.log[offset]!.id !== id) {
          this.problems.push(`acknowledged write ${id} @${offset} missing on ISR member b${r} (log ${b.log.length}, durable ${b.durable})`);
          return;
        }
      }
    }
    for (const b of this.brokers.values()) {
      if (!b.alive || b.replica.consumerUpper().error !== ErrorCode.NONE) continue;
      const hw = b.replica.highWatermark;
      const epoch = b.replica.leaderEpoch;
      const shown = Math.max(0, ...[...this.shownAt].filter(([e]) => e <= epoch).map(([, h]) => h));
      if (hw < shown) this.problems.push(`b${b.id} shows consumers high watermark ${hw} at epoch ${epoch} after ${shown} was shown`);
      this.shownAt.set(epoch, Math.max(this.shownAt.get(epoch) ?? 0, hw));
      for (let o = this.committed.length; o < hw; o++) this.committed.push({ ...b.log[o]! });
    }
    for (const r of this.ctl.isr) {
      const b = this.brokers.get(r)!;
      const upto = Math.min(this.committed.length, b.log.length);
      for (let o = 0; o < upto; o++) {
        if (b.log[o]!.id !== this.committed[o]!.id) {
          this.problems.push(`b${b.id} holds write ${b.log[o]!.id} at ${o}, below the shown high watermark where ${this.committed[o]!.id} was read`);
          return;
        }
      }
    }
  }
}

export function runSeed(seed: number, steps = STEPS, writeCaching = false): Simulation {
  const rnd = seededRandom(seed);
  const rates = { crash: 0.005 + rnd.next() * 0.03, fsync: 0.05 + rnd.next() * 0.1, deliver: 0.02 + rnd.next() * 0.08, mistake: rnd.next() * 0.3 };
  const sim = new Simulation(rnd, rates, writeCaching);
  sim.run(steps);
  return sim;
}

const MODES = [
  { writeCaching: false, title: 'replication keeps every acknowledged write through crashes, leader changes and live brokers fenced by mistake' },
  {
    writeCaching: true,
    title: 'in write-caching mode, replication keeps every acknowledged write in the page cache of the ISR through process crashes, leader changes and live brokers fenced by mistake',
  },
];

for (const { writeCaching, title } of MODES) {
  t.test(title, async (t) => {
    const count = Number(process.env.REPLICATION_SEEDS ?? 2000);
    const base = Number(process.env.REPLICATION_SEED ?? 1);
    const failed: { seed: number; problems: string[]; trace: string[] }[] = [];
    let joined = 0;
    for (let seed = base; seed < base + count; seed++) {
      const sim = runSeed(seed, STEPS, writeCaching);
      if (sim.problems.length) failed.push({ seed, problems: sim.problems, trace: sim.trace });
      if (sim.addedJoinedSameLeader > 0) joined++;
    }
    t.ok(joined > 0, `replicas a reassignment added catch up and join the ISR of the leader that saw them added (in ${joined} of ${count} seeds)`);
    if (failed.length) t.comment(`first failing seed ${failed[0]!.seed}:\n${failed[0]!.trace.slice(-60).join('\n')}`);
    t.same(failed.map((f) => `seed ${f.seed}: ${f.problems[0]}`).slice(0, 10), [], `${count} seeds from ${base} hold every guarantee`);
  });
}
