/**
 * A partition's segments, ordered by base offset, the last one active (Kafka's LocalLog):
 * finding the segment of an offset, reading whole batches, lookups by timestamp, rolling,
 * cutting the tail, dropping the oldest, and which of them retention condemns. It knows
 * nothing of offsets beyond the segments' own (log start and end, producer state and the
 * leader epochs are partition-log.ts's), and it does not serialize its changes: the owning
 * PartitionLog runs them one at a time (withSegmentsLocked).
 *
 * The array is shared: the cleaner's swap (cleaner/swap.ts) replaces segments in it in place.
 */
import { checkBatchAt, isCompressed, recordTimestamps } from '../../../shared/record-batch.js';
import type { FileCache } from './file-cache.js';
import { floorIndexBy } from './offset-index.js';
import { LogSegment } from './segment.js';
import type { AbortedTxn } from './txn-index.js';

const baseOffsetOf = (s: LogSegment): number => s.baseOffset;

export class SegmentList {
  constructor(
    private readonly dir: string,
    private readonly files: FileCache,
    readonly segments: LogSegment[],
  ) {}

  get active(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** The segment holding `offset`: the last one based at or below it, else the first. */
  indexFor(offset: number): number {
    return Math.max(0, floorIndexBy(this.segments, offset, baseOffsetOf));
  }

  /** Bytes in the segments' files. */
  get size(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /**
   * Whole batches from the one holding `fetchOffset`, up to `maxBytes` (the first batch is
   * returned whole even when larger), from one segment, none reaching `upperBound`. Throws
   * what the disk threw.
   */
  async read(fetchOffset: number, maxBytes: number, upperBound: number): Promise<Buffer> {
    for (let i = this.indexFor(fetchOffset); i < this.segments.length && fetchOffset < upperBound; i++) {
      const seg = this.segments[i]!;
      seg.acquire();
      try {
        const records = await seg.read(fetchOffset, maxBytes, upperBound);
        if (records.length > 0) return records;
      } finally {
        seg.release();
      }
    }
    return Buffer.alloc(0);
  }

  /**
   * The aborted transactions overlapping [fetchOffset, upperBound), from the transaction
   * indexes of the segment holding `fetchOffset` and of the later ones as far as needed
   * (Kafka's collectAbortedTransactions): a transaction's entry is in its marker's segment,
   * which may come after the segments holding its records.
   */
  abortedTxns(fetchOffset: number, upperBound: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (let i = this.indexFor(fetchOffset); i < this.segments.length; i++) {
      if (this.segments[i]!.txnIndex.collect(fetchOffset, upperBound, out)) break;
    }
    return out;
  }

  maxTimestamp(): { offset: number; timestamp: number } {
    let best = { offset: -1, timestamp: -1 };
    for (const seg of this.segments) {
      if (seg.maxTimestamp > best.timestamp) best = { offset: seg.offsetOfMaxTimestamp, timestamp: seg.maxTimestamp };
    }
    return best;
  }

  /**
   * The first record at or past `logStartOffset` with a timestamp >= `timestamp` (Kafka's
   * ListOffsets by time). Blocking reads: rare, and normally served from the page cache.
   */
  offsetForTimestamp(timestamp: number, logStartOffset: number): { offset: number; timestamp: number } | undefined {
    for (const seg of this.segments) {
      if (seg.maxTimestamp < timestamp) continue;
      const from = Math.max(logStartOffset, seg.baseOffset + seg.timeIndex.lookup(timestamp));
      const h = seg.findBatchSync(from, (b) => b.maxTimestamp >= timestamp && b.lastOffset >= logStartOffset);
      if (!h) continue;
      if (isCompressed(h.attributes)) return { offset: Math.max(h.baseOffset, logStartOffset), timestamp: h.maxTimestamp };
      const bytes = seg.readSync(h.position, h.length);
      const check = checkBatchAt(bytes, 0, bytes.length);
      if (!check.ok) continue;
      const hit = recordTimestamps(bytes, check.batch).find((r) => r.timestamp >= timestamp && r.offset >= logStartOffset);
      if (hit) return hit;
    }
    return undefined;
  }

  /**
   * A new active segment at `baseOffset`. The old one gets its largest timestamp in its time
   * index; the returned promise is its index entries' write.
   */
  roll(baseOffset: number): { sealed: LogSegment; indexesWritten: Promise<void> } {
    const sealed = this.active;
    sealed.sealTimeIndex(sealed.lastBatchBaseOffset);
    const indexesWritten = sealed.persistIndexes();
    this.segments.push(LogSegment.createSync(this.dir, baseOffset, this.files));
    return { sealed, indexesWritten };
  }

  /**
   * Cuts the segments so that they end before `offset`, at the start of the batch holding it;
   * returns the new end (`offset` when no batch holds it).
   */
  async cutTo(offset: number): Promise<number> {
    const i = this.indexFor(offset);
    const seg = this.segments[i]!;
    const removed = this.segments.splice(i + 1);
    await Promise.all(removed.map((s) => s.delete()));
    const h = await seg.findBatch(offset, (b) => b.lastOffset >= offset);
    if (!h) return offset;
    await seg.truncateTo(h.position, h.baseOffset);
    await seg.recomputeMaxTimestamp();
    return h.baseOffset;
  }

  /** Deletes every segment and starts one, empty, at `offset`. */
  async resetAt(offset: number): Promise<void> {
    const removed = this.segments.splice(0);
    await Promise.all(removed.map((s) => s.delete()));
    this.segments.push(LogSegment.createSync(this.dir, offset, this.files));
  }

  /** Deletes the `n` oldest segments; returns the base offset of the first one left. */
  async dropOldest(n: number): Promise<number> {
    const removed = this.segments.splice(0, n);
    await Promise.all(removed.map((s) => s.delete()));
    return this.segments[0]!.baseOffset;
  }

  /** How many of the oldest segments `offset` leaves wholly below it (never the active one). */
  countBelow(offset: number): number {
    let n = 0;
    while (n < this.segments.length - 1 && this.segments[n + 1]!.baseOffset <= offset) n++;
    return n;
  }

  /**
   * How many of the oldest segments log.retention.ms / log.retention.bytes condemn (-1: no
   * limit), never the active one.
   */
  retentionCount(now: number, retentionMs: number, retentionBytes: number): number {
    const candidates = this.segments.slice(0, -1);
    let n = 0;
    if (retentionMs >= 0) {
      while (n < candidates.length && candidates[n]!.maxTimestamp >= 0 && now - candidates[n]!.maxTimestamp > retentionMs) n++;
    }
    if (retentionBytes >= 0) {
      let excess = this.size - retentionBytes;
      for (let i = 0; i < candidates.length && excess >= candidates[i]!.size; i++) {
        excess -= candidates[i]!.size;
        n = Math.max(n, i + 1);
      }
    }
    return n;
  }

  /** Writes pending index entries and fsyncs them (for a recovery point or shutdown). */
  async syncIndexes(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.syncIndexes()));
  }

  /** Syncs and closes every segment's files. */
  async close(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.close()));
  }
}
