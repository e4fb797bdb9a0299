/**
 * The Raft consensus core, shaped like etcd raft: no sockets, timers or files.
 * The caller feeds it `step(message)`, `tick()` and `propose(data)`, takes a `Ready`
 * (what to persist, send and apply, in the order documented on `Ready`), does the I/O
 * and calls `advance()`. Time is ticks; randomness (election jitter) is a passed-in
 * seeded generator, so a whole cluster replays from one seed.
 *
 * This class holds the node's term, vote and log, switches roles and routes each message to
 * the role that handles it. A leader's bookkeeping is a `LeaderState` made for its term
 * (leader-state.ts), an election's vote count a `CandidateState` (candidate-state.ts), the
 * election timeout an `ElectionTimer`, and a follower's handling of Appends and snapshots
 * follower-replication.ts.
 *
 * Roles and the only allowed changes between them:
 *
 *   Follower     -> PreCandidate  election timeout without hearing from a leader
 *   PreCandidate -> Candidate     a quorum would vote for us (pre-vote, term unchanged)
 *   PreCandidate -> Follower      pre-vote lost, a leader of our term, or a higher term
 *   Candidate    -> Leader        a quorum voted for us in this term
 *   Candidate    -> Follower      vote lost, a leader of our term, or a higher term
 *   Leader       -> Follower      a higher term, or check-quorum: no majority heard
 *                                 from within an election timeout
 *
 * A quorum of one goes Follower -> PreCandidate -> Candidate -> Leader on `campaign()`.
 * Membership is static: the voter set never changes. Safety rules implemented here:
 * - a vote is granted at most once per term and only to an up-to-date log (§5.2, §5.4.1);
 *   the vote and the term are persisted before the response leaves (messagesAfterPersist);
 * - a leader's own entries count towards commit only once on its disk;
 * - only an entry of the leader's current term is committed by counting replicas (§5.4.2);
 *   a new leader appends an empty entry of its term so earlier entries commit through it;
 * - with check-quorum a node that heard from a leader within the election timeout
 *   ignores (pre-)vote requests, so a partitioned node rejoining cannot depose it.
 */
import { CandidateState } from './candidate-state.js';
import { ElectionTimer } from './election-timer.js';
import { type AppendAnswer, acceptAppend, acceptSnapshot } from './follower-replication.js';
import { type LeaderContext, LeaderState } from './leader-state.js';
import type { Random } from './prng.js';
import { RaftLog } from './raft-log.js';
import { type Entry, type HardState, type Message, MessageType, type Ready, Role, type Snapshot, message } from './types.js';

export interface RaftConfig {
  id: number;
  voters: number[];
  /** Ticks without a leader before a follower campaigns (randomized up to twice this). */
  electionTicks: number;
  heartbeatTicks: number;
  random: Random;
  /** State recovered from disk; absent for a brand-new node. */
  hardState?: HardState;
  snapshot?: Snapshot;
  entries?: Entry[];
  maxEntriesPerAppend?: number;
  /** Heartbeat responses to wait before resending an unacknowledged snapshot. */
  snapshotResendHeartbeats?: number;
}

export type ProposeResult = { ok: true; index: number; term: number } | { ok: false; leaderId: number | undefined };

const EMPTY = new Uint8Array(0);

export class Raft {
  readonly id: number;
  readonly voters: readonly number[];
  role: Role = Role.Follower;
  term: number;
  vote: number;
  /** The leader of `term` as far as this node knows; 0 when unknown. */
  lead = 0;
  readonly log: RaftLog;

  private readonly electionTimer: ElectionTimer;
  private readonly leaderContext: LeaderContext;
  /** Set while this node leads `term`. */
  private leader: LeaderState | undefined;
  /** Set while this node is a pre-candidate or candidate. */
  private candidate: CandidateState | undefined;
  /** The latest snapshot on disk, sent to followers that need compacted entries. */
  private snapshot: Snapshot | undefined;
  private msgs: Message[] = [];
  private msgsAfterPersist: Message[] = [];
  private persisted: HardState;
  private inFlight: { lastEntry: Entry | undefined; snapshot: Snapshot | undefined; appliedTo: number } | undefined;

  constructor(cfg: RaftConfig) {
    if (!cfg.voters.includes(cfg.id)) throw new Error(`node ${cfg.id} is not among the voters`);
    this.id = cfg.id;
    this.voters = [...cfg.voters];
    this.electionTimer = new ElectionTimer(cfg.electionTicks, cfg.random);
    const hs = cfg.hardState ?? { term: 0, vote: 0, commit: 0 };
    this.term = hs.term;
    this.vote = hs.vote;
    this.snapshot = cfg.snapshot;
    this.log = new RaftLog(cfg.snapshot?.index ?? 0, cfg.snapshot?.term ?? 0, cfg.entries ?? [], hs.commit);
    this.persisted = { ...hs };
    this.leaderContext = {
      id: this.id,
      voters: this.voters,
      quorum: this.quorum,
      log: this.log,
      heartbeatTicks: cfg.heartbeatTicks,
      maxEntriesPerAppend: cfg.maxEntriesPerAppend ?? 256,
      snapshotResendHeartbeats: cfg.snapshotResendHeartbeats ?? 10,
      latestSnapshot: () => this.snapshot,
      send: (m) => this.send(m),
    };
    this.becomeFollower(this.term, 0);
  }

  get quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  // ---- inputs ----

  tick(): void {
    if (this.leader) this.tickLeader(this.leader);
    else if (this.electionTimer.tick()) this.campaign();
  }

  /**
   * The connection to the leader closed (its process most likely died): its lease ends now, so
   * this node grants votes for a new term at once instead of after the election timeout. The
   * caller may then `campaign`. Nothing else changes: a leader that is still alive makes this
   * node its follower again with its next heartbeat.
   */
  leaderLost(): void {
    if (this.role === Role.Follower) this.lead = 0;
  }

  /** Start an election now (pre-vote first), as an election timeout would. */
  campaign(): void {
    if (this.role === Role.Leader || this.log.pendingSnapshot) return;
    this.startElection(true);
  }

  propose(data: Uint8Array): ProposeResult {
    if (!this.leader) return { ok: false, leaderId: this.lead || undefined };
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index, term: this.term, data }]);
    this.leader.broadcastAppend();
    return { ok: true, index, term: this.term };
  }

  step(m: Message): void {
    if (m.from !== this.id && !this.voters.includes(m.from)) return;
    if (m.term > this.term) {
      const isVoteRequest = m.type === MessageType.Vote || m.type === MessageType.PreVote;
      if (isVoteRequest && this.inLease()) return;
      if (m.type === MessageType.PreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the term we will campaign in, not a newer leader's.
      } else if (m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.InstallSnapshot) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0);
      }
    } else if (m.term < this.term) {
      if (m.type === MessageType.Append || m.type === MessageType.Heartbeat) {
        // Tell a stale leader about the newer term so it steps down.
        this.send(message({ type: MessageType.AppendResp, from: this.id, to: m.from, term: this.term }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ type: MessageType.PreVoteResp, from: this.id, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
      this.handleVoteRequest(m);
      return;
    }
    if (this.leader) this.leader.step(m);
    else if (this.candidate) this.stepCandidate(this.candidate, m);
    else this.stepFollower(m);
  }

  // ---- outputs ----

  hasReady(): boolean {
    if (this.inFlight) return false;
    return (
      this.msgs.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.log.pendingSnapshot !== undefined ||
      this.log.stableIndex < this.log.lastIndex() ||
      this.hardStateChanged() ||
      Math.min(this.log.committed, this.log.stableIndex) > this.log.applied
    );
  }

  ready(): Ready {
    if (this.inFlight) throw new Error('ready() called again before advance()');
    const entries = this.log.unstableEntries();
    const hs = this.hardState();
    const rd: Ready = {
      messages: this.msgs,
      snapshot: this.log.pendingSnapshot,
      entries,
      hardState: this.hardStateChanged() ? hs : undefined,
      messagesAfterPersist: this.msgsAfterPersist,
      committedEntries: this.log.nextCommitted(),
    };
    const lastEntry = entries.length > 0 ? entries[entries.length - 1] : undefined;
    if (this.role === Role.Leader && lastEntry) {
      rd.messagesAfterPersist.push(message({ type: MessageType.AppendResp, from: this.id, to: this.id, term: this.term, index: lastEntry.index }));
    }
    this.msgs = [];
    this.msgsAfterPersist = [];
    this.persisted = hs;
    const committed = rd.committedEntries;
    this.inFlight = { lastEntry, snapshot: rd.snapshot, appliedTo: committed.length > 0 ? committed[committed.length - 1].index : 0 };
    return rd;
  }

  /** The last Ready was persisted, sent and applied. */
  advance(): void {
    const f = this.inFlight;
    if (!f) throw new Error('advance() without ready()');
    this.inFlight = undefined;
    if (f.snapshot) {
      if (this.log.pendingSnapshot === f.snapshot) this.log.pendingSnapshot = undefined;
      this.snapshot = f.snapshot;
    }
    if (f.lastEntry) this.log.stableTo(f.lastEntry.index, f.lastEntry.term);
    this.log.appliedTo(f.appliedTo);
  }

  /** A snapshot of the applied state at `snapshot.index` is on disk: drop the entries it covers. */
  compact(snapshot: Snapshot): void {
    if (this.log.term(snapshot.index) !== snapshot.term) throw new Error(`snapshot ${snapshot.index}/${snapshot.term} does not match the log`);
    this.log.compact(snapshot.index);
    this.snapshot = snapshot;
  }

  // ---- roles ----

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionTimer.restart();
    this.candidate = undefined;
    this.leader = undefined;
  }

  private becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    // Term, vote and leader stay as they are until a real election starts.
    this.candidate = new CandidateState(true, this.voters.length, this.quorum);
    this.lead = 0;
    this.electionTimer.restart();
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.candidate = new CandidateState(false, this.voters.length, this.quorum);
    this.role = Role.Candidate;
  }

  /** A new leader appends an empty entry of its term, through which earlier entries commit (§5.4.2). */
  private becomeLeader(): LeaderState {
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const leader = new LeaderState(this.term, this.leaderContext);
    this.leader = leader;
    this.log.append([{ index: this.log.lastIndex() + 1, term: this.term, data: EMPTY }]);
    return leader;
  }

  private startElection(preVote: boolean): void {
    let term: number;
    let type: MessageType;
    if (preVote) {
      this.becomePreCandidate();
      term = this.term + 1;
      type = MessageType.PreVote;
    } else {
      this.becomeCandidate();
      term = this.term;
      type = MessageType.Vote;
    }
    const respType = preVote ? MessageType.PreVoteResp : MessageType.VoteResp;
    for (const v of this.voters) {
      if (v === this.id) {
        this.send(message({ type: respType, from: this.id, to: this.id, term }));
      } else {
        this.send(message({ type, from: this.id, to: v, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm() }));
      }
    }
  }

  private inLease(): boolean {
    return this.lead !== 0 && this.electionTimer.withinTimeout();
  }

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const canVote = this.vote === m.from || (this.vote === 0 && this.lead === 0) || (isPre && m.term > this.term);
    const respType = isPre ? MessageType.PreVoteResp : MessageType.VoteResp;
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(message({ type: respType, from: this.id, to: m.from, term: m.term }));
      if (!isPre) {
        this.electionTimer.heard();
        this.vote = m.from;
      }
    } else {
      this.send(message({ type: respType, from: this.id, to: m.from, term: this.term, reject: true }));
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionTimer.heard();
        this.lead = m.from;
        this.answerAppend(m.from, acceptAppend(this.log, m));
        break;
      case MessageType.Heartbeat:
        this.electionTimer.heard();
        this.lead = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send(message({ type: MessageType.HeartbeatResp, from: this.id, to: m.from, term: this.term }));
        break;
      case MessageType.InstallSnapshot:
        this.electionTimer.heard();
        this.lead = m.from;
        this.answerAppend(m.from, acceptSnapshot(this.log, m));
        break;
    }
  }

  private answerAppend(to: number, answer: AppendAnswer | undefined): void {
    if (answer) this.send(message({ type: MessageType.AppendResp, from: this.id, to, term: this.term, ...answer }));
  }

  private stepCandidate(candidate: CandidateState, m: Message): void {
    switch (m.type) {
      case MessageType.Append:
      case MessageType.Heartbeat:
      case MessageType.InstallSnapshot:
        // A leader of our own term exists.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        break;
      case MessageType.PreVoteResp:
      case MessageType.VoteResp: {
        if (m.type !== candidate.responseType) return;
        const outcome = candidate.record(m.from, !m.reject);
        if (outcome === 'won') {
          if (candidate.preVote) this.startElection(false);
          else this.becomeLeader().broadcastAppend();
        } else if (outcome === 'lost') {
          this.becomeFollower(this.term, 0);
        }
        break;
      }
    }
  }

  // ---- timers ----

  private tickLeader(leader: LeaderState): void {
    if (this.electionTimer.tickRound() && !leader.checkQuorum()) {
      this.becomeFollower(this.term, 0);
      return;
    }
    leader.tickHeartbeat();
  }

  // ---- plumbing ----

  /** Votes and append acknowledgements depend on the disk; everything to self goes through it too. */
  private send(m: Message): void {
    if (m.to === this.id || m.type === MessageType.VoteResp || m.type === MessageType.AppendResp) this.msgsAfterPersist.push(m);
    else this.msgs.push(m);
  }

  private hardStateChanged(): boolean {
    const p = this.persisted;
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed;
  }
}
