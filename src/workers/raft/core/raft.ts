/**
 * The Raft consensus core, shaped like etcd raft: no sockets, timers or files.
 * The caller feeds it `step(message)`, `tick()` and `propose(data)`, takes a `Ready`
 * (what to persist, send and apply, in the order documented on `Ready`), does the I/O
 * and calls `advance()`. Time is ticks; randomness (election jitter) is a passed-in
 * seeded generator, so a whole cluster replays from one seed.
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
import { Progress, ProgressState } from './progress.js';
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

  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly random: Random;
  private readonly maxEntries: number;
  private readonly snapshotResend: number;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private progress = new Map<number, Progress>();
  private votes = new Map<number, boolean>();
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
    this.electionTicks = cfg.electionTicks;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.random = cfg.random;
    this.maxEntries = cfg.maxEntriesPerAppend ?? 256;
    this.snapshotResend = cfg.snapshotResendHeartbeats ?? 10;
    const hs = cfg.hardState ?? { term: 0, vote: 0, commit: 0 };
    this.term = hs.term;
    this.vote = hs.vote;
    this.snapshot = cfg.snapshot;
    this.log = new RaftLog(cfg.snapshot?.index ?? 0, cfg.snapshot?.term ?? 0, cfg.entries ?? [], hs.commit);
    this.persisted = { ...hs };
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
    if (this.role === Role.Leader) this.tickLeader();
    else this.tickElection();
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
    if (this.role !== Role.Leader) return { ok: false, leaderId: this.lead || undefined };
    const index = this.log.lastIndex() + 1;
    this.log.append([{ index, term: this.term, data }]);
    this.broadcastAppend();
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
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(m);
        break;
      case Role.PreCandidate:
      case Role.Candidate:
        this.stepCandidate(m);
        break;
      case Role.Follower:
        this.stepFollower(m);
        break;
    }
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
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.drawElectionTimeout();
    this.votes.clear();
    this.progress.clear();
  }

  /**
   * A timeout in [electionTicks + 2, 2 * electionTicks). Voters refuse a pre-vote while they
   * heard from a leader less than electionTicks ago, and the nodes' ticks are not in phase: a
   * candidate that fired at exactly electionTicks could meet a voter one tick short and lose a
   * whole extra timeout. Two ticks of margin keep a failover within two election timeouts.
   */
  private drawElectionTimeout(): number {
    const margin = Math.min(2, this.electionTicks - 1);
    return this.electionTicks + margin + this.random.int(this.electionTicks - margin);
  }

  private becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    // Term, vote and leader stay as they are until a real election starts.
    this.votes.clear();
    this.lead = 0;
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.drawElectionTimeout();
    this.role = Role.PreCandidate;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const next = this.log.lastIndex() + 1;
    for (const v of this.voters) {
      const pr = new Progress(next);
      if (v === this.id) {
        pr.match = this.log.stableIndex;
        pr.state = ProgressState.Replicate;
      }
      this.progress.set(v, pr);
    }
    this.log.append([{ index: next, term: this.term, data: EMPTY }]);
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
    return this.lead !== 0 && this.electionElapsed < this.electionTicks;
  }

  private handleVoteRequest(m: Message): void {
    const isPre = m.type === MessageType.PreVote;
    const canVote = this.vote === m.from || (this.vote === 0 && this.lead === 0) || (isPre && m.term > this.term);
    const respType = isPre ? MessageType.PreVoteResp : MessageType.VoteResp;
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.send(message({ type: respType, from: this.id, to: m.from, term: m.term }));
      if (!isPre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(message({ type: respType, from: this.id, to: m.from, term: this.term, reject: true }));
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send(message({ type: MessageType.HeartbeatResp, from: this.id, to: m.from, term: this.term }));
        break;
      case MessageType.InstallSnapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        break;
    }
  }

  private stepCandidate(m: Message): void {
    const myResp = this.role === Role.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
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
        if (m.type !== myResp) return;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        let granted = 0;
        for (const g of this.votes.values()) if (g) granted++;
        const rejected = this.votes.size - granted;
        if (granted >= this.quorum) {
          if (this.role === Role.PreCandidate) {
            this.startElection(false);
          } else {
            this.becomeLeader();
            this.broadcastAppend();
          }
        } else if (rejected > this.voters.length - this.quorum) {
          this.becomeFollower(this.term, 0);
        }
        break;
      }
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    if (m.from === this.id) {
      if (m.type === MessageType.AppendResp && pr.maybeUpdate(m.index) && this.maybeCommit()) this.broadcastAppend();
      return;
    }
    switch (m.type) {
      case MessageType.AppendResp:
        pr.recentActive = true;
        if (m.reject) {
          if (pr.maybeDecrTo(m.index, m.rejectHint)) {
            if (pr.state === ProgressState.Replicate) pr.becomeProbe();
            this.sendAppend(m.from, true);
          }
          return;
        }
        if (pr.maybeUpdate(m.index)) {
          if (pr.state === ProgressState.Probe) pr.becomeReplicate();
          else if (pr.state === ProgressState.Snapshot && pr.match >= pr.pendingSnapshot) {
            pr.becomeProbe();
            pr.becomeReplicate();
          }
          if (this.maybeCommit()) this.broadcastAppend();
          else this.sendAppend(m.from, false);
        }
        break;
      case MessageType.HeartbeatResp:
        pr.recentActive = true;
        pr.probeSent = false;
        if (pr.state === ProgressState.Snapshot) {
          if (++pr.snapshotWait < this.snapshotResend) return;
          pr.retrySnapshot();
        }
        if (pr.match < this.log.lastIndex()) {
          // Appends may have been lost: fall back to probing from what the follower confirmed.
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          this.sendAppend(m.from, true);
        }
        break;
    }
  }

  // ---- follower log handling ----

  private handleAppend(m: Message): void {
    const respond = (fields: Partial<Message>): void =>
      this.send(message({ type: MessageType.AppendResp, from: this.id, to: m.from, term: this.term, ...fields }));
    if (m.index < this.log.committed) {
      respond({ index: this.log.committed });
      return;
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      const lastNew = this.log.mergeFrom(m.index, m.entries);
      this.log.commitTo(Math.min(m.commit, lastNew));
      respond({ index: lastNew });
      return;
    }
    const hint = this.log.findConflictByTerm(m.index, m.logTerm);
    respond({ index: m.index, reject: true, rejectHint: hint });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (s.index > this.log.committed) {
      if (this.log.matchTerm(s.index, s.term)) this.log.commitTo(s.index);
      else this.log.restore(s);
    }
    this.send(message({ type: MessageType.AppendResp, from: this.id, to: m.from, term: this.term, index: this.log.committed }));
  }

  // ---- leader replication ----

  private sendAppend(to: number, sendIfEmpty: boolean): void {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return;
    const last = this.log.lastIndex();
    if (pr.next > last + 1) pr.next = last + 1;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      const snap = this.snapshot;
      if (!snap) return;
      this.send(message({ type: MessageType.InstallSnapshot, from: this.id, to, term: this.term, snapshot: snap }));
      pr.becomeSnapshot(snap.index);
      return;
    }
    const entries = pr.next <= last ? this.log.slice(pr.next, last, this.maxEntries) : [];
    if (entries.length === 0 && !sendIfEmpty) return;
    this.send(
      message({ type: MessageType.Append, from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }),
    );
    if (pr.state === ProgressState.Replicate && entries.length > 0) pr.next = entries[entries.length - 1].index + 1;
    else if (pr.state === ProgressState.Probe) pr.probeSent = true;
  }

  private broadcastAppend(): void {
    for (const v of this.voters) if (v !== this.id) this.sendAppend(v, true);
  }

  private broadcastHeartbeat(): void {
    for (const v of this.voters) {
      if (v === this.id) continue;
      const pr = this.progress.get(v);
      const commit = Math.min(pr?.match ?? 0, this.log.committed);
      this.send(message({ type: MessageType.Heartbeat, from: this.id, to: v, term: this.term, commit }));
    }
  }

  /** Advance the commit index to what a quorum has, but only through an entry of this term (§5.4.2). */
  private maybeCommit(): boolean {
    const matches = this.voters.map((v) => this.progress.get(v)?.match ?? 0).sort((a, b) => b - a);
    const candidate = matches[this.quorum - 1];
    if (candidate > this.log.committed && this.log.term(candidate) === this.term) {
      this.log.commitTo(candidate);
      return true;
    }
    return false;
  }

  // ---- timers ----

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign();
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (!this.checkQuorum()) {
        this.becomeFollower(this.term, 0);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** True when a majority (counting this leader) was heard from since the last round. */
  private checkQuorum(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.id || pr.recentActive) active++;
      if (id !== this.id) pr.recentActive = false;
    }
    return active >= this.quorum;
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
