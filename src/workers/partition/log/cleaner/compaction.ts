/**
 * What log compaction keeps, batch by batch, as Kafka's log cleaner decides it (LogCleaner's
 * Cleaner.cleanInto with MemoryRecords.filterTo). Pure: batches in memory in, decisions and
 * rewritten batches out; the clean task (clean-task.ts) does the reading and writing.
 *
 * A cleaning has two passes over the log:
 * 1. The offset map: for the dirty section (from the cleaner checkpoint to the first
 *    uncleanable offset), the offset of the latest record of each key (`mapBatch`). Records of
 *    aborted transactions are not mapped. When the map is full the dirty section is cut there:
 *    the rest waits for the next cleaning.
 * 2. The rewrite of every segment below the mapped end (`cleanBatch`). A record stays when:
 *    - it lies past the mapped end, or
 *    - it has a key, no later record of that key was mapped, and it has a value or is a
 *      tombstone whose batch's delete horizon has not passed. The first cleaning that keeps a
 *      tombstone stamps its batch with a horizon of now + delete.retention.ms (KIP-534); the
 *      tombstone goes with the first cleaning after it.
 *    Records without a key go (a compacted topic cannot hold them).
 *    Batches of aborted transactions go. A COMMIT marker goes once no batch of its transaction
 *    is left before it, an ABORT marker once none of its aborted batches is, each after its
 *    own delete horizon (the markers of transactions with nothing left get one when first
 *    cleaned).
 *    A batch keeps its header when all its records go but it is the last batch of a producer
 *    the producer state still tracks (its sequence and epoch are the state a restart rebuilds
 *    from the log), or the last batch before the end of a cleaned segment (so that a segment's
 *    batches still end where the next segment begins, which recovery checks).
 */
import type { AbortedRange, ProducerLastBatch } from '../../../../shared/clean-task.js';
import { CONTROL_FLAG, ControlType, controlTypeAt, TRANSACTIONAL_FLAG } from '../../../../shared/control-records.js';
import type { BatchInfo } from '../../../../shared/record-batch.js';
import { emptyBatch, hasDeleteHorizon, readBatchRecords, rewriteBatch, type RecordRef } from './batch-records.js';

/** Bytes the offset map charges for an entry besides its key (a JS Map entry and its string). */
const MAP_ENTRY_OVERHEAD = 64;

/**
 * Key -> offset of its latest record in the dirty section, with a memory budget
 * (log.cleaner.dedupe.buffer.size). Keys are kept whole (Kafka keeps an MD5 of each): no two
 * keys can be taken for one.
 */
export class OffsetMap {
  private readonly offsets = new Map<string, number>();
  private usedBytes = 0;
  /** The last offset the map covers; -1 when empty. */
  latestOffset = -1;

  constructor(readonly capacityBytes: number) {}

  get size(): number {
    return this.offsets.size;
  }

  /** Records `offset` for `key`; false when the map has no room for a new key. */
  put(key: Buffer, offset: number): boolean {
    const k = key.toString('latin1');
    if (!this.offsets.has(k)) {
      const cost = k.length + MAP_ENTRY_OVERHEAD;
      if (this.usedBytes + cost > this.capacityBytes) return false;
      this.usedBytes += cost;
    }
    this.offsets.set(k, offset);
    return true;
  }

  /** The latest mapped offset of `key`, or -1. */
  get(key: Buffer): number {
    return this.offsets.get(key.toString('latin1')) ?? -1;
  }

  updateLatestOffset(offset: number): void {
    if (offset > this.latestOffset) this.latestOffset = offset;
  }
}

/**
 * Transactions as a pass over the log meets them (Kafka's CleanedTransactionMetadata): which
 * data batches are aborted, and which markers may go. An ABORT marker that stays keeps its
 * transaction index entry, in the index of the cleaned segment it goes to (`takeRetained`).
 */
export class TransactionTracker {
  private readonly pending: AbortedRange[];
  private next = 0;
  /** Open aborted transactions by producer: the last offset of a batch of theirs seen (-1: none yet). */
  private readonly aborted = new Map<number, { txn: AbortedRange; seen: number }>();
  private readonly committed = new Set<number>();
  /** Index entries of the ABORT markers kept since the last `takeRetained`. */
  private retained: AbortedRange[] = [];

  constructor(aborted: readonly AbortedRange[]) {
    this.pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  private reach(offset: number): void {
    while (this.next < this.pending.length && this.pending[this.next]!.firstOffset <= offset) {
      const a = this.pending[this.next++]!;
      if (!this.aborted.has(a.producerId)) this.aborted.set(a.producerId, { txn: a, seen: -1 });
    }
  }

  /** A data batch: true when it belongs to an aborted transaction. */
  onDataBatch(b: BatchInfo): boolean {
    const lastOffset = b.baseOffset + b.lastOffsetDelta;
    this.reach(lastOffset);
    if ((b.attributes & TRANSACTIONAL_FLAG) === 0) return false;
    const open = this.aborted.get(b.producerId);
    if (open !== undefined) {
      open.seen = lastOffset;
      return true;
    }
    this.committed.add(b.producerId);
    return false;
  }

  /** A marker (`type` undefined: an empty batch, a marker already cleaned): true when it may go. */
  onControlBatch(b: BatchInfo, type: ControlType | undefined): boolean {
    this.reach(b.baseOffset + b.lastOffsetDelta);
    if (type === undefined) return true;
    if (type === ControlType.ABORT) {
      const open = this.aborted.get(b.producerId);
      this.aborted.delete(b.producerId);
      // The marker stays until a cleaning has removed its batches: so does its entry.
      if (open === undefined || open.seen < 0) return true;
      this.retained.push(open.txn);
      return false;
    }
    return !this.committed.delete(b.producerId);
  }

  /** The index entries of the ABORT markers kept since the last call, in marker order. */
  takeRetained(): AbortedRange[] {
    const out = this.retained;
    this.retained = [];
    return out;
  }
}

/**
 * Adds the keys of a batch of the dirty section (offsets from `startOffset` on) to the map.
 * Returns false when the map filled up before the batch was through.
 */
export function mapBatch(buf: Buffer, b: BatchInfo, map: OffsetMap, txns: TransactionTracker, startOffset: number, maxBytes: number): boolean {
  const lastOffset = b.baseOffset + b.lastOffsetDelta;
  if ((b.attributes & CONTROL_FLAG) !== 0) {
    txns.onControlBatch(b, controlTypeAt(buf, b.position, b.position + b.length));
  } else if (!txns.onDataBatch(b) && lastOffset >= startOffset) {
    const read = readBatchRecords(buf, b, maxBytes);
    // An unreadable batch maps nothing: none of its keys can then make an older record go.
    if (typeof read !== 'string') {
      for (const r of read.records) {
        const offset = b.baseOffset + r.offsetDelta;
        if (r.key !== null && offset >= startOffset && !map.put(r.key, offset)) return false;
      }
    }
  }
  if (lastOffset >= startOffset) map.updateLatestOffset(lastOffset);
  return true;
}

/** The last batch of a producer the producer state tracks (Kafka's lastRecordsOfActiveProducers). */

export interface CleanContext {
  map: OffsetMap;
  txns: TransactionTracker;
  now: number;
  deleteRetentionMs: number;
  producers: ReadonlyMap<number, ProducerLastBatch>;
  /** The end of the cleaned segment being written: the batch ending right before it stays. */
  segmentEnd: number;
  /** Bound on a decompressed record section. */
  maxBytes: number;
}

export type BatchOutcome =
  /** Written as it was read. */
  | { kind: 'copy' }
  | { kind: 'drop' }
  /** Written as `bytes` (fewer records, or a new delete horizon, or no records at all). */
  | { kind: 'write'; bytes: Buffer; recordCount: number; maxTimestamp: number; maxTimestampOffsetDelta: number };

/** What a cleaning keeps of the batch `b` of `buf` (see the header). */
export function cleanBatch(buf: Buffer, b: BatchInfo, ctx: CleanContext): BatchOutcome {
  const lastOffset = b.baseOffset + b.lastOffsetDelta;
  const control = (b.attributes & CONTROL_FLAG) !== 0;
  const horizon = hasDeleteHorizon(b.attributes) ? b.firstTimestamp : -1;
  const canDiscard = control
    ? ctx.txns.onControlBatch(b, controlTypeAt(buf, b.position, b.position + b.length))
    : ctx.txns.onDataBatch(b);
  const discardRecords = control ? canDiscard && horizon >= 0 && horizon <= ctx.now : canDiscard;
  const last = b.producerId >= 0 ? ctx.producers.get(b.producerId) : undefined;
  const lastOfProducer = last !== undefined && (last.lastDataOffset >= 0 ? lastOffset === last.lastDataOffset : control && b.producerEpoch === last.epoch);
  const retainEmpty = lastOfProducer || lastOffset + 1 === ctx.segmentEnd;
  if (discardRecords && !retainEmpty) return { kind: 'drop' };

  let kept: RecordRef[] = [];
  let all = false;
  let tombstones = false;
  let read = undefined as ReturnType<typeof readBatchRecords> | undefined;
  if (!discardRecords) {
    read = readBatchRecords(buf, b, ctx.maxBytes);
    // Records that cannot be read are kept as they are: the cleaner never loses what it cannot judge.
    if (typeof read === 'string') return { kind: 'copy' };
    kept = control ? read.records : read.records.filter((r) => keepRecord(r, b.baseOffset + r.offsetDelta, horizon, ctx));
    all = kept.length === read.records.length;
    tombstones = !control && kept.some((r) => !r.hasValue);
  }
  if (kept.length > 0 && read !== undefined && typeof read !== 'string') {
    const needsHorizon = horizon < 0 && (tombstones || (control && canDiscard));
    if (all && !needsHorizon) return { kind: 'copy' };
    const rewritten = rewriteBatch(buf, b, read, kept, needsHorizon ? ctx.now + ctx.deleteRetentionMs : horizon);
    return { kind: 'write', bytes: rewritten.bytes, recordCount: kept.length, maxTimestamp: rewritten.maxTimestamp, maxTimestampOffsetDelta: rewritten.maxTimestampOffsetDelta };
  }
  if (!retainEmpty) return { kind: 'drop' };
  if (b.recordCount === 0) return { kind: 'copy' };
  return { kind: 'write', bytes: emptyBatch(buf, b), recordCount: 0, maxTimestamp: b.maxTimestamp, maxTimestampOffsetDelta: b.lastOffsetDelta };
}

function keepRecord(r: RecordRef, offset: number, horizon: number, ctx: CleanContext): boolean {
  if (offset > ctx.map.latestOffset) return true;
  if (r.key === null) return false;
  if (offset < ctx.map.get(r.key)) return false;
  return r.hasValue || horizon < 0 || ctx.now < horizon;
}
