import type { Entry, Snapshot } from './types.js';

/**
 * The Raft log as the core sees it: a snapshot boundary (every index up to
 * `snapshotIndex` is folded into the snapshot), the entries after it, and three
 * cursors over them:
 *
 *   snapshotIndex <= applied <= committed,  applied <= stableIndex <= lastIndex
 *
 * `stableIndex` is the last index known to be on disk; entries after it are handed
 * out by `unstableEntries()` until `stableTo` says they were persisted. The metadata
 * log is small, so every entry after the snapshot stays in memory.
 */
export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  private entries: Entry[];
  committed: number;
  applied: number;
  stableIndex: number;
  /** A snapshot received from the leader and not yet persisted. */
  pendingSnapshot: Snapshot | undefined;

  constructor(snapshotIndex: number, snapshotTerm: number, entries: Entry[], committed: number) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.entries = entries.filter((e) => e.index > snapshotIndex);
    for (let i = 0; i < this.entries.length; i++) {
      if (this.entries[i].index !== snapshotIndex + 1 + i) throw new Error(`log entries not contiguous at ${this.entries[i].index}`);
    }
    this.stableIndex = this.lastIndex();
    this.committed = Math.min(Math.max(committed, snapshotIndex), this.lastIndex());
    this.applied = snapshotIndex;
    this.pendingSnapshot = undefined;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapshotTerm : this.entries[this.entries.length - 1].term;
  }

  /** The term of the entry at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1].term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries in [lo, hi], at most `max` of them. `lo` must be after the snapshot. */
  slice(lo: number, hi: number, max: number): Entry[] {
    const start = lo - this.snapshotIndex - 1;
    const end = Math.min(hi - this.snapshotIndex, start + max);
    return this.entries.slice(start, end);
  }

  /** Raft §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first !== this.lastIndex() + 1) throw new Error(`append at ${first} after ${this.lastIndex()}`);
    for (const e of entries) this.entries.push(e);
  }

  /**
   * Follower side of Raft §5.3: keep entries that already match, cut the log at the first
   * conflict and append the rest. Returns the index of the last new entry.
   */
  mergeFrom(prevIndex: number, entries: Entry[]): number {
    let i = 0;
    while (i < entries.length && this.matchTerm(entries[i].index, entries[i].term)) i++;
    if (i < entries.length) {
      const conflict = entries[i].index;
      if (conflict <= this.committed) throw new Error(`entry ${conflict} conflicts with committed ${this.committed}`);
      if (conflict <= this.lastIndex()) this.truncateFrom(conflict);
      this.append(entries.slice(i));
    }
    return prevIndex + entries.length;
  }

  private truncateFrom(index: number): void {
    this.entries.length = index - this.snapshotIndex - 1;
    if (this.stableIndex >= index) this.stableIndex = index - 1;
  }

  /**
   * The largest index <= `index` whose term is <= `term`: where a follower's log may agree
   * with a leader whose entry at `index` has `term` (the fast back-off of etcd raft).
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshotIndex) {
      const t = this.term(i);
      if (t !== undefined && t <= term) break;
      i--;
    }
    return i;
  }

  commitTo(index: number): void {
    if (index > this.committed) {
      if (index > this.lastIndex()) throw new Error(`commit ${index} beyond last index ${this.lastIndex()}`);
      this.committed = index;
    }
  }

  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.snapshotIndex);
  }

  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.term(index) === term) this.stableIndex = index;
  }

  /** Committed entries that are also on disk and not yet applied. */
  nextCommitted(): Entry[] {
    const hi = Math.min(this.committed, this.stableIndex);
    if (hi <= this.applied) return [];
    return this.slice(this.applied + 1, hi, Number.MAX_SAFE_INTEGER);
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  /** Replace the whole log with a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.entries = [];
    this.snapshotIndex = snapshot.index;
    this.snapshotTerm = snapshot.term;
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.stableIndex = snapshot.index;
    this.pendingSnapshot = snapshot;
  }

  /** Drop entries folded into a local snapshot at `index` (which must be applied). */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.applied) throw new Error(`compact ${index} beyond applied ${this.applied}`);
    const term = this.term(index);
    if (term === undefined) throw new Error(`compact ${index}: no such entry`);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }
}
