/**
 * What a node knows and does while it leads one term (Kafka's LeaderState, the leader half
 * of etcd raft): a `Progress` per voter, the Appends, snapshots and heartbeats built from
 * them, the commit index a quorum of match indexes allows, and the check-quorum round that
 * tells a leader cut off from its majority to step down. One is made when the node wins an
 * election and dropped when it leaves the role, so nothing of it outlives its term.
 *
 * Pure like the rest of the core: messages go out through `send` and time is `tickHeartbeat`.
 */
import { Progress, ProgressState } from './progress.js';
import type { RaftLog } from './raft-log.js';
import { type Message, MessageType, type Snapshot, message } from './types.js';

/** What a leader uses of the node it runs on. */
export interface LeaderContext {
  readonly id: number;
  readonly voters: readonly number[];
  readonly quorum: number;
  readonly log: RaftLog;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerAppend: number;
  /** Heartbeat responses to wait before resending an unacknowledged snapshot. */
  readonly snapshotResendHeartbeats: number;
  /** The latest snapshot on disk, sent to followers that need compacted entries. */
  latestSnapshot(): Snapshot | undefined;
  send(m: Message): void;
}

export class LeaderState {
  private readonly progress = new Map<number, Progress>();
  private heartbeatElapsed = 0;

  /** Every follower is probed from just past the leader's last entry; the leader's own match is what is on its disk. */
  constructor(
    readonly term: number,
    private readonly ctx: LeaderContext,
  ) {
    const next = ctx.log.lastIndex() + 1;
    for (const v of ctx.voters) {
      const pr = new Progress(next);
      if (v === ctx.id) {
        pr.match = ctx.log.stableIndex;
        pr.state = ProgressState.Replicate;
      }
      this.progress.set(v, pr);
    }
  }

  /** An AppendResp or HeartbeatResp of this term (the leader's own AppendResp says what reached its disk). */
  step(m: Message): void {
    const { id, log } = this.ctx;
    const pr = this.progress.get(m.from);
    if (!pr) return;
    if (m.from === id) {
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
          if (++pr.snapshotWait < this.ctx.snapshotResendHeartbeats) return;
          pr.retrySnapshot();
        }
        if (pr.match < log.lastIndex()) {
          // Appends may have been lost: fall back to probing from what the follower confirmed.
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          this.sendAppend(m.from, true);
        }
        break;
    }
  }

  /** Sends every follower what it is missing (an empty Append to one in step, as a probe). */
  broadcastAppend(): void {
    for (const v of this.ctx.voters) if (v !== this.ctx.id) this.sendAppend(v, true);
  }

  /** One tick towards the next heartbeat round; the round goes out when it is due. */
  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    if (this.heartbeatElapsed >= this.ctx.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** True when a majority (counting this leader) was heard from since the last round, which this starts afresh. */
  checkQuorum(): boolean {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (id === this.ctx.id || pr.recentActive) active++;
      if (id !== this.ctx.id) pr.recentActive = false;
    }
    return active >= this.ctx.quorum;
  }

  private sendAppend(to: number, sendIfEmpty: boolean): void {
    const { id, log } = this.ctx;
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return;
    const last = log.lastIndex();
    if (pr.next > last + 1) pr.next = last + 1;
    const prevIndex = pr.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === undefined) {
      const snap = this.ctx.latestSnapshot();
      if (!snap) return;
      this.ctx.send(message({ type: MessageType.InstallSnapshot, from: id, to, term: this.term, snapshot: snap }));
      pr.becomeSnapshot(snap.index);
      return;
    }
    const entries = pr.next <= last ? log.slice(pr.next, last, this.ctx.maxEntriesPerAppend) : [];
    if (entries.length === 0 && !sendIfEmpty) return;
    this.ctx.send(
      message({ type: MessageType.Append, from: id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: log.committed }),
    );
    if (pr.state === ProgressState.Replicate && entries.length > 0) pr.next = entries[entries.length - 1].index + 1;
    else if (pr.state === ProgressState.Probe) pr.probeSent = true;
  }

  /** A heartbeat never lets a follower commit past what it is known to hold. */
  private broadcastHeartbeat(): void {
    const { id, log } = this.ctx;
    for (const v of this.ctx.voters) {
      if (v === id) continue;
      const pr = this.progress.get(v);
      const commit = Math.min(pr?.match ?? 0, log.committed);
      this.ctx.send(message({ type: MessageType.Heartbeat, from: id, to: v, term: this.term, commit }));
    }
  }

  /** Advance the commit index to what a quorum has, but only through an entry of this term (§5.4.2). */
  private maybeCommit(): boolean {
    const { log, quorum } = this.ctx;
    const matches = this.ctx.voters.map((v) => this.progress.get(v)?.match ?? 0).sort((a, b) => b - a);
    const candidate = matches[quorum - 1];
    if (candidate > log.committed && log.term(candidate) === this.term) {
      log.commitTo(candidate);
      return true;
    }
    return false;
  }
}
