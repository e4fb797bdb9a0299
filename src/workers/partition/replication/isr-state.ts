/**
 * The leader's view of one partition's replicas: the rules for the high watermark and the
 * in-sync replica set, as pure logic (no clock, no I/O: times are passed in).
 *
 * - A follower's position is the fetch offset it sends. Followers fetch only from offsets they
 *   have fsynced, and the leader counts its own durable end offset, so everything below the
 *   high watermark is on disk on every in-sync replica: acks=all means durable on the ISR.
 *   In write-caching mode followers fetch on once they have written, and the leader counts its
 *   written end: below the mark, everything is in the page cache of every in-sync replica.
 *   These rules only see positions and the leader's counted end; which one counts is the
 *   caller's (partition-replica.ts).
 * - High watermark = min over the ISR of those positions; it never moves backwards. While an
 *   ISR change is proposed and not yet in metadata, the mark counts the maximal ISR (the
 *   committed one and the proposed one together, Kafka's rule): a follower the controller may
 *   already have added holds everything below the mark, and one about to leave still counts.
 * - Caught up (Kafka's rule): a fetch at or past the leader's end offset at that moment, or at
 *   or past the end offset the leader had at the follower's previous fetch, counts as caught up
 *   as of that fetch. A follower not caught up for `replica.lag.time.max.ms` leaves the ISR.
 * - A follower outside the ISR whose position reaches the high watermark and the start of the
 *   leader's epoch, caught up within the lag time (so it is still fetching, not a broker that
 *   died there), joins it again. A position is only ever recorded from a fetch whose history
 *   matched the leader's (a diverging follower is told to truncate first), so reaching the mark
 *   means holding it. The epoch start counts too (Kafka's isFollowerInSync): a new leader's
 *   mark may start below the one the previous leader reached, and a follower at that lower
 *   mark may lack records already acknowledged; everything acknowledged is below the log end
 *   the leader had when its epoch began.
 */

interface Follower {
  position: number;
  lastCaughtUpMs: number;
  lastFetchMs: number;
  lastFetchLeaderEnd: number;
}

export class IsrState {
  private readonly followers = new Map<number, Follower>();
  private hw: number;
  /** The ISR proposed to the controller and not yet seen in metadata. */
  private proposed: readonly number[] | undefined;

  constructor(
    readonly nodeId: number,
    private replicas: readonly number[],
    /** The committed ISR, as metadata says. */
    private committedIsr: readonly number[],
    /** The leadership this view belongs to. */
    readonly leaderEpoch: number,
    /** The metadata version of the committed ISR. */
    private isrEpoch: number,
    highWatermark: number,
    nowMs: number,
  ) {
    this.hw = highWatermark;
    for (const r of replicas) {
      if (r === nodeId) continue;
      // A follower gets a full lag window from the moment this leadership starts.
      this.followers.set(r, { position: -1, lastCaughtUpMs: nowMs, lastFetchMs: -1, lastFetchLeaderEnd: -1 });
    }
  }

  get isr(): readonly number[] {
    return this.committedIsr;
  }

  get partitionEpoch(): number {
    return this.isrEpoch;
  }

  /**
   * The replica set changed under the same leadership (a reassignment adds replicas, then
   * drops the old ones together with their ISR places): a new follower starts outside the ISR
   * with a full lag window and joins once it reaches the mark; a removed one is forgotten.
   */
  setReplicas(replicas: readonly number[], nowMs: number): void {
    for (const r of replicas) {
      if (r !== this.nodeId && !this.followers.has(r)) this.followers.set(r, { position: -1, lastCaughtUpMs: nowMs, lastFetchMs: -1, lastFetchLeaderEnd: -1 });
    }
    for (const r of [...this.followers.keys()]) if (!replicas.includes(r)) this.followers.delete(r);
    this.replicas = replicas;
  }

  /** A newer committed ISR (same leadership): progress is kept, the mark may move. */
  setIsr(isr: readonly number[], partitionEpoch: number, leaderCountedEnd: number): boolean {
    this.committedIsr = isr;
    this.isrEpoch = partitionEpoch;
    this.proposed = undefined;
    return this.advance(leaderCountedEnd);
  }

  /**
   * The ISR proposed and not yet in metadata, to send again; undefined when none is
   * outstanding. Only one change is outstanding at a time (Kafka's rule): a second proposal
   * computed before the first is answered could drop a member the controller already added.
   */
  get pending(): readonly number[] | undefined {
    const p = this.proposed;
    if (p && p.length === this.committedIsr.length && p.every((r) => this.committedIsr.includes(r))) this.proposed = undefined;
    return this.proposed;
  }

  /** The controller refused the proposed ISR and changed nothing: the mark counts the committed ISR again. */
  proposalRefused(leaderCountedEnd: number): boolean {
    this.proposed = undefined;
    return this.advance(leaderCountedEnd);
  }

  get highWatermark(): number {
    return this.hw;
  }

  isReplica(id: number): boolean {
    return this.followers.has(id);
  }

  /** Records a follower fetch at `fetchOffset`; returns true when the high watermark moved. */
  followerFetched(id: number, fetchOffset: number, leaderEnd: number, leaderCountedEnd: number, nowMs: number): boolean {
    const f = this.followers.get(id);
    if (!f) return false;
    f.position = fetchOffset;
    if (fetchOffset >= leaderEnd) f.lastCaughtUpMs = nowMs;
    else if (f.lastFetchMs >= 0 && fetchOffset >= f.lastFetchLeaderEnd) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.lastFetchMs = nowMs;
    f.lastFetchLeaderEnd = leaderEnd;
    return this.advance(leaderCountedEnd);
  }

  /** Recomputes the high watermark after the leader's own counted end (durable, or written) moved. */
  advance(leaderCountedEnd: number): boolean {
    let min = leaderCountedEnd;
    for (const id of this.maximalIsr()) {
      if (id === this.nodeId) continue;
      const f = this.followers.get(id);
      // An ISR member that has not fetched under this leader yet holds the mark where it is.
      if (!f || f.position < 0) return false;
      min = Math.min(min, f.position);
    }
    if (min <= this.hw) return false;
    this.hw = min;
    return true;
  }

  private maximalIsr(): readonly number[] {
    const p = this.proposed;
    if (!p) return this.committedIsr;
    return [...this.committedIsr, ...p.filter((r) => !this.committedIsr.includes(r))];
  }

  /**
   * The ISR this leader should propose, or null when it should stay as it is: laggards leave,
   * followers that reached the high watermark and `epochStart` (the log end when this
   * leadership began) join, if `eligible`: the controller refuses a fenced or unregistered
   * broker, and proposing it again every check would only churn.
   */
  proposedIsr(nowMs: number, lagMaxMs: number, epochStart: number, eligible: (replica: number) => boolean): number[] | null {
    const next: number[] = [];
    let changed = false;
    for (const r of this.replicas) {
      if (r === this.nodeId) {
        next.push(r);
        continue;
      }
      const f = this.followers.get(r)!;
      const inIsr = this.committedIsr.includes(r);
      if (inIsr) {
        if (nowMs - f.lastCaughtUpMs > lagMaxMs) changed = true;
        else next.push(r);
      } else if (eligible(r) && f.position >= 0 && f.position >= this.hw && f.position >= epochStart && nowMs - f.lastCaughtUpMs <= lagMaxMs) {
        next.push(r);
        changed = true;
      }
    }
    if (!changed) return null;
    this.proposed = next;
    return next;
  }
}
