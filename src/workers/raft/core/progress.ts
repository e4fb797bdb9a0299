/**
 * What a leader knows about one follower's log (etcd raft's Progress):
 * - probe: the follower's position is unknown; one Append at a time, then wait for
 *   an answer or the next heartbeat response.
 * - replicate: the follower is in step; Appends stream without waiting.
 * - snapshot: the follower needs entries the leader compacted away; a snapshot is
 *   on its way and nothing else is sent until it is acknowledged (or resent).
 */
export const ProgressState = { Probe: 0, Replicate: 1, Snapshot: 2 } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In probe state: an Append is out and unanswered. */
  probeSent = false;
  pendingSnapshot = 0;
  /** Heartbeat responses seen since the snapshot was sent; it is resent after a few. */
  snapshotWait = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;

  constructor(next: number) {
    this.next = next;
  }

  becomeProbe(): void {
    this.next = this.match + 1;
    if (this.state === ProgressState.Snapshot) this.next = Math.max(this.match, this.pendingSnapshot) + 1;
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.pendingSnapshot = 0;
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.pendingSnapshot = 0;
  }

  becomeSnapshot(index: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshot = index;
    this.snapshotWait = 0;
  }

  /** The snapshot went unacknowledged: probe again from what the follower confirmed. */
  retrySnapshot(): void {
    this.state = ProgressState.Probe;
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
  }

  /** A successful AppendResp for `index`; false when it was stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejected Append at `rejected`; the follower hints its log may agree up to `hint`.
   * False when the rejection answers an older Append and changes nothing.
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = Math.max(this.match + 1, Math.min(rejected, hint + 1));
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    if (this.state === ProgressState.Probe) return this.probeSent;
    return this.state === ProgressState.Snapshot;
  }
}
