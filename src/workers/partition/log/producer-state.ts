/**
 * Producer state of one partition, for idempotent produce, as Kafka's ProducerStateManager
 * keeps it: per producer id, the current epoch and the last five batches written (their
 * sequence ranges with the offsets they got). Pure: no I/O, no clock (times are passed in).
 *
 * Rules for a client's append (Kafka's, checked in this order per batch):
 * - the batch equals one of the producer's last five (same epoch, same first and last
 *   sequence): a retry of a batch already in the log; the append is answered with that
 *   batch's offsets and nothing is written twice;
 * - an epoch older than the producer's: INVALID_PRODUCER_EPOCH;
 * - a new epoch must start at sequence 0, the current epoch must continue at last + 1
 *   (wrapping after 2^31 - 1): OUT_OF_ORDER_SEQUENCE_NUMBER otherwise;
 * - a producer id this partition does not know is accepted at any sequence. Its state may
 *   have gone with old segments (retention, DeleteRecords) or expired, and current Kafka
 *   accepts such a producer rather than fail it with UNKNOWN_PRODUCER_ID.
 * Every batch of an append is checked, against the state the batches before it leave,
 * before any is written: the append goes in whole or not at all.
 *
 * Transactions: a producer's first transactional batch opens its transaction at that batch's
 * offset; the transaction ends with a marker (a control batch, control-records.ts) that only
 * the transaction coordinator writes. Until then the producer may not write non-transactional
 * batches (INVALID_TXN_STATE). A marker with an older epoch than the producer's is refused
 * (INVALID_PRODUCER_EPOCH); a newer one (a coordinator's fence) takes the producer to that
 * epoch, so its zombie's next batch is refused. An ABORT marker yields the entry of Kafka's
 * aborted-transaction index (producer, first and last offset, and the last stable offset
 * when the marker went in), which the log adds to the index of the marker's segment
 * (txn-index.ts). The first offset of the oldest open transaction bounds the last stable offset,
 * and so does a transaction whose marker is not yet below the high watermark (Kafka's
 * unreplicated transactions): a leader may lose its leadership before its followers have the
 * marker, and its successor, where the transaction is still open until the coordinator writes
 * the marker again, must not answer a last stable offset below one already given out.
 *
 * Batches replayed from the log (recovery, a follower's appends) are taken as they are.
 */
import { ControlType } from '../../../shared/control-records.js';
import { ErrorCode } from '../../../shared/errors.js';
import type { ActiveProducer } from '../../../shared/worker-types.js';
import type { AbortedTxn } from './txn-index.js';

/** Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN; clients keep at most 5 in flight). */
export const BATCHES_PER_PRODUCER = 5;
/** producer.id.expiration.ms default: a producer silent this long is forgotten. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const NO_TXN = -1;
const NO_SEQUENCE = -1;
const MAX_SEQUENCE = 0x7fff_ffff;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** The batch's max timestamp. */
  timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most BATCHES_PER_PRODUCER. */
  batches: BatchMetadata[];
  lastTimestamp: number;
  /** The first offset of the producer's open transaction here; -1 when none is open. */
  txnFirstOffset: number;
}

/** A transaction ended by a marker that may not yet be below the high watermark. */
export interface UnreplicatedTxn {
  firstOffset: number;
  markerOffset: number;
}

/** A transaction a marker ends. */
export interface EndedTxn {
  producerId: number;
  firstOffset: number;
  markerOffset: number;
  commit: boolean;
}

/** The producer fields of a batch header (record-batch.ts layout). */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  attributes: number;
  /** For a control batch: its marker type (control-records.ts). */
  controlType?: ControlType;
}

export type AppendCheck =
  /** New batches: `commit(updates)` once their offsets are placed. */
  | { kind: 'append'; updates: Map<number, ProducerEntry>; ended: EndedTxn[] }
  /** Every idempotent batch of the append is already in the log at these offsets. */
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; errorMessage: string };

/** The sequence of a batch's last record (sequences wrap to 0 after 2^31 - 1, as in Kafka). */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > MAX_SEQUENCE - lastOffsetDelta ? lastOffsetDelta - (MAX_SEQUENCE - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === MAX_SEQUENCE);
}

function withBatch(entry: ProducerEntry, batch: BatchMetadata): ProducerEntry {
  const batches = [...entry.batches, batch];
  if (batches.length > BATCHES_PER_PRODUCER) batches.shift();
  return { ...entry, batches, lastTimestamp: Math.max(entry.lastTimestamp, batch.timestamp) };
}

function fail(errorCode: number, errorMessage: string): AppendCheck {
  return { kind: 'error', errorCode, errorMessage };
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Ended transactions whose markers the high watermark had not passed when last asked; marker order. */
  private unreplicatedTxns: UnreplicatedTxn[] = [];

  constructor(readonly expirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS) {}

  get size(): number {
    return this.producers.size;
  }

  get(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.producers.get(producerId);
  }

  entries(): ProducerEntry[] {
    return [...this.producers.values()];
  }

  /**
   * The producers remembered here as DescribeProducers lists them. The coordinator epoch is
   * -1 (Kafka's value before a marker): markers' coordinator epochs are not kept.
   */
  active(): ActiveProducer[] {
    return this.entries().map((e) => ({
      producerId: e.producerId,
      producerEpoch: e.epoch,
      lastSequence: e.batches.length === 0 ? NO_SEQUENCE : e.batches[e.batches.length - 1]!.lastSeq,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: -1,
      currentTxnStartOffset: e.txnFirstOffset,
    }));
  }

  /** The first offset of the oldest open transaction, or null when none is open. */
  firstUnstableOffset(): number | null {
    let first: number | null = null;
    for (const e of this.producers.values()) {
      if (e.txnFirstOffset !== NO_TXN && (first === null || e.txnFirstOffset < first)) first = e.txnFirstOffset;
    }
    return first;
  }

  /**
   * The last stable offset: below it every transaction is decided and its marker replicated,
   * bounded by the high watermark.
   */
  lastStableOffset(highWatermark: number): number {
    let lso = Math.min(this.firstUnstableOffset() ?? highWatermark, highWatermark);
    for (const u of this.unreplicatedTxns) if (u.markerOffset >= highWatermark) lso = Math.min(lso, u.firstOffset);
    return lso;
  }

  /** The replica's high watermark has reached `highWatermark` (it never moves back): markers below it are replicated. */
  highWatermarkReached(highWatermark: number): void {
    if (this.unreplicatedTxns.some((u) => u.markerOffset < highWatermark)) this.unreplicatedTxns = this.unreplicatedTxns.filter((u) => u.markerOffset >= highWatermark);
  }

  /** The ended transactions whose markers may still be above the high watermark. */
  unreplicated(): UnreplicatedTxn[] {
    return this.unreplicatedTxns.map((u) => ({ ...u }));
  }

  /**
   * Checks batches, to be placed from `firstOffset` on in this order, against the state;
   * changes nothing. Control batches are refused unless `markersAllowed` (the writer is a
   * transaction coordinator).
   */
  checkAppend(batches: readonly ProducerBatch[], firstOffset: number, markersAllowed = false): AppendCheck {
    const updates = new Map<number, ProducerEntry>();
    const ended: EndedTxn[] = [];
    let next = firstOffset;
    let idempotent = 0;
    let duplicates = 0;
    let dupFirst = -1;
    let dupLast = -1;
    for (const b of batches) {
      const firstOffsetOfBatch = next;
      next += b.lastOffsetDelta + 1;
      if ((b.attributes & CONTROL_FLAG) !== 0) {
        if (!markersAllowed) return fail(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
        const marker = this.checkMarker(b, firstOffsetOfBatch, updates.get(b.producerId) ?? this.producers.get(b.producerId));
        if ('errorCode' in marker) return fail(marker.errorCode, marker.errorMessage);
        updates.set(b.producerId, marker.entry);
        if (marker.ended) ended.push(marker.ended);
        continue;
      }
      const transactional = (b.attributes & TRANSACTIONAL_FLAG) !== 0;
      if (b.producerId < 0) {
        if (transactional) return fail(ErrorCode.INVALID_RECORD, 'a transactional batch must name its producer');
        continue;
      }
      idempotent++;
      if (markersAllowed && transactional && b.baseSequence === NO_SEQUENCE) {
        // A coordinator's own transactional records (offsets committed in a transaction) carry no sequence.
        const current = updates.get(b.producerId) ?? this.producers.get(b.producerId);
        if (current !== undefined && b.producerEpoch < current.epoch) {
          return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId}: epoch ${b.producerEpoch} is older than the current ${current.epoch}`);
        }
        const sameEpoch = current !== undefined && current.epoch === b.producerEpoch;
        updates.set(b.producerId, {
          producerId: b.producerId,
          epoch: b.producerEpoch,
          batches: sameEpoch ? current.batches : [],
          lastTimestamp: Math.max(current?.lastTimestamp ?? -1, b.maxTimestamp),
          txnFirstOffset: current !== undefined && current.txnFirstOffset !== NO_TXN ? current.txnFirstOffset : firstOffsetOfBatch,
        });
        continue;
      }
      if (b.producerEpoch < 0 || b.baseSequence < 0) {
        return fail(ErrorCode.INVALID_RECORD, `producer ${b.producerId}: epoch ${b.producerEpoch} and sequence ${b.baseSequence} must not be negative`);
      }
      const lastSeq = lastSequence(b.baseSequence, b.lastOffsetDelta);
      const current = updates.get(b.producerId) ?? this.producers.get(b.producerId);
      if (current !== undefined && current.epoch === b.producerEpoch) {
        const dup = current.batches.find((m) => m.firstSeq === b.baseSequence && m.lastSeq === lastSeq);
        if (dup !== undefined) {
          if (duplicates++ === 0) dupFirst = dup.firstOffset;
          dupLast = dup.lastOffset;
          continue;
        }
      }
      if (current !== undefined && b.producerEpoch < current.epoch) {
        return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId}: epoch ${b.producerEpoch} is older than the current ${current.epoch}`);
      }
      let base: ProducerEntry;
      if (current === undefined || b.producerEpoch !== current.epoch) {
        if (current !== undefined && b.baseSequence !== 0) {
          return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `producer ${b.producerId}: new epoch ${b.producerEpoch} starts at sequence ${b.baseSequence}, expected 0`);
        }
        base = { producerId: b.producerId, epoch: b.producerEpoch, batches: [], lastTimestamp: -1, txnFirstOffset: current?.txnFirstOffset ?? NO_TXN };
      } else {
        const last = current.batches[current.batches.length - 1]?.lastSeq ?? NO_SEQUENCE;
        if (!inSequence(last, b.baseSequence)) {
          return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `producer ${b.producerId} epoch ${b.producerEpoch}: sequence ${b.baseSequence} after ${last}`);
        }
        base = current;
      }
      if (!transactional && base.txnFirstOffset !== NO_TXN) {
        return fail(ErrorCode.INVALID_TXN_STATE, `producer ${b.producerId} wrote a non-transactional batch inside its open transaction`);
      }
      if (transactional && base.txnFirstOffset === NO_TXN) base = { ...base, txnFirstOffset: firstOffsetOfBatch };
      const meta = { firstSeq: b.baseSequence, lastSeq, firstOffset: firstOffsetOfBatch, lastOffset: next - 1, timestamp: b.maxTimestamp };
      updates.set(b.producerId, withBatch(base, meta));
    }
    if (duplicates === 0) return { kind: 'append', updates, ended };
    if (duplicates === batches.length) return { kind: 'duplicate', firstOffset: dupFirst, lastOffset: dupLast };
    return fail(ErrorCode.INVALID_RECORD, 'the append mixes batches already written with new ones');
  }

  private checkMarker(b: ProducerBatch, offset: number, current: ProducerEntry | undefined):
    { entry: ProducerEntry; ended: EndedTxn | null } | { errorCode: number; errorMessage: string } {
    if (b.producerId < 0 || b.controlType === undefined) return { errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'unreadable transaction marker' };
    if (current !== undefined && b.producerEpoch < current.epoch) {
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, errorMessage: `marker for producer ${b.producerId} at epoch ${b.producerEpoch}, older than ${current.epoch}` };
    }
    return this.markerEntry(b, offset, current);
  }

  private markerEntry(b: ProducerBatch, offset: number, current: ProducerEntry | undefined): { entry: ProducerEntry; ended: EndedTxn | null } {
    const sameEpoch = current !== undefined && current.epoch === b.producerEpoch;
    const entry: ProducerEntry = {
      producerId: b.producerId,
      epoch: b.producerEpoch,
      batches: sameEpoch ? current.batches : [],
      lastTimestamp: Math.max(current?.lastTimestamp ?? -1, b.maxTimestamp),
      txnFirstOffset: NO_TXN,
    };
    const open = current !== undefined && current.txnFirstOffset !== NO_TXN;
    const ended = open ? { producerId: b.producerId, firstOffset: current.txnFirstOffset, markerOffset: offset, commit: b.controlType === ControlType.COMMIT } : null;
    return { entry, ended };
  }

  /**
   * Applies the updates of an accepted append (checkAppend's answer, unchanged since); returns
   * the aborted-transaction index entries of its ABORT markers.
   */
  commit(updates: ReadonlyMap<number, ProducerEntry>, ended: readonly EndedTxn[] = []): AbortedTxn[] {
    for (const [id, entry] of updates) this.producers.set(id, entry);
    return this.abortedEntries(ended);
  }

  private abortedEntries(ended: readonly EndedTxn[]): AbortedTxn[] {
    if (ended.length === 0) return [];
    const unstable = this.firstUnstableOffset();
    const out: AbortedTxn[] = [];
    for (const e of ended) {
      this.unreplicatedTxns.push({ firstOffset: e.firstOffset, markerOffset: e.markerOffset });
      if (e.commit) continue;
      const lastStableOffset = unstable === null ? e.markerOffset + 1 : Math.min(unstable, e.markerOffset + 1);
      out.push({ producerId: e.producerId, firstOffset: e.firstOffset, lastOffset: e.markerOffset, lastStableOffset });
    }
    return out;
  }

  /**
   * Takes a batch from the log as it is (recovery, replication): no checks. Returns the
   * aborted-transaction index entry when the batch is an ABORT marker ending a transaction.
   */
  replay(b: ProducerBatch, baseOffset: number): AbortedTxn | undefined {
    if (b.producerId < 0) return undefined;
    const current = this.producers.get(b.producerId);
    if ((b.attributes & CONTROL_FLAG) !== 0) {
      if (b.controlType === undefined) return undefined;
      const { entry, ended } = this.markerEntry(b, baseOffset, current);
      this.producers.set(b.producerId, entry);
      return ended ? this.abortedEntries([ended])[0] : undefined;
    }
    let base: ProducerEntry = current !== undefined && current.epoch === b.producerEpoch
      ? current
      : { producerId: b.producerId, epoch: b.producerEpoch, batches: [], lastTimestamp: -1, txnFirstOffset: current?.txnFirstOffset ?? NO_TXN };
    if ((b.attributes & TRANSACTIONAL_FLAG) !== 0 && base.txnFirstOffset === NO_TXN) base = { ...base, txnFirstOffset: baseOffset };
    if (b.baseSequence === NO_SEQUENCE) {
      this.producers.set(b.producerId, { ...base, lastTimestamp: Math.max(base.lastTimestamp, b.maxTimestamp) });
      return undefined;
    }
    const meta = {
      firstSeq: b.baseSequence,
      lastSeq: lastSequence(b.baseSequence, b.lastOffsetDelta),
      firstOffset: baseOffset,
      lastOffset: baseOffset + b.lastOffsetDelta,
      timestamp: b.maxTimestamp,
    };
    this.producers.set(b.producerId, withBatch(base, meta));
    return undefined;
  }

  /** The log now starts at `logStartOffset`: producers whose last batch is gone are forgotten. */
  truncateHead(logStartOffset: number): void {
    this.unreplicatedTxns = this.unreplicatedTxns
      .filter((u) => u.markerOffset >= logStartOffset)
      .map((u) => ({ ...u, firstOffset: Math.max(u.firstOffset, logStartOffset) }));
    for (const [id, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      if (e.txnFirstOffset !== NO_TXN && e.txnFirstOffset < logStartOffset) e.txnFirstOffset = logStartOffset;
      if (e.txnFirstOffset !== NO_TXN) {
        if (last !== undefined && last.firstOffset < logStartOffset) e.batches = e.batches.filter((m) => m.lastOffset >= logStartOffset);
      } else if (last === undefined || last.lastOffset < logStartOffset) this.producers.delete(id);
      else if (e.batches[0]!.firstOffset < logStartOffset) e.batches = e.batches.filter((m) => m.lastOffset >= logStartOffset);
    }
  }

  /** Forgets producers silent for producer.id.expiration.ms; returns how many. */
  removeExpired(nowMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      // A producer with an open transaction stays: its marker is still to come.
      if (e.txnFirstOffset === NO_TXN && nowMs - e.lastTimestamp >= this.expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Replaces the whole state (a snapshot's entries, and the unreplicated transactions of a state rebuilt from the log). */
  restore(entries: readonly ProducerEntry[], unreplicated: readonly UnreplicatedTxn[] = []): void {
    this.producers.clear();
    for (const e of entries) this.producers.set(e.producerId, { ...e, batches: e.batches.map((m) => ({ ...m })) });
    this.unreplicatedTxns = unreplicated.map((u) => ({ ...u }));
  }
}
