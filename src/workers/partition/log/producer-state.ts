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
 * Batches replayed from the log (recovery, a follower's appends) are taken as they are.
 * Transactions are not supported: transactional and control batches are refused.
 */
import { ErrorCode } from '../../../shared/errors.js';

/** Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN; clients keep at most 5 in flight). */
export const BATCHES_PER_PRODUCER = 5;
/** producer.id.expiration.ms default: a producer silent this long is forgotten. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
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
}

/** The producer fields of a batch header (record-batch.ts layout). */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  attributes: number;
}

export type AppendCheck =
  /** New batches: `commit(updates)` once their offsets are placed. */
  | { kind: 'append'; updates: Map<number, ProducerEntry> }
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
  return { producerId: entry.producerId, epoch: entry.epoch, batches, lastTimestamp: Math.max(entry.lastTimestamp, batch.timestamp) };
}

function fail(errorCode: number, errorMessage: string): AppendCheck {
  return { kind: 'error', errorCode, errorMessage };
}

export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();

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
   * Checks a client's batches, to be placed from `firstOffset` on in this order, against the
   * state; changes nothing.
   */
  checkAppend(batches: readonly ProducerBatch[], firstOffset: number): AppendCheck {
    const updates = new Map<number, ProducerEntry>();
    let next = firstOffset;
    let idempotent = 0;
    let duplicates = 0;
    let dupFirst = -1;
    let dupLast = -1;
    for (const b of batches) {
      const firstOffsetOfBatch = next;
      next += b.lastOffsetDelta + 1;
      if ((b.attributes & CONTROL_FLAG) !== 0) return fail(ErrorCode.INVALID_RECORD, 'clients may not write control batches');
      if ((b.attributes & TRANSACTIONAL_FLAG) !== 0) {
        return fail(ErrorCode.INVALID_TXN_STATE, 'transactional batches are not supported by this broker');
      }
      if (b.producerId < 0) continue;
      idempotent++;
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
        base = { producerId: b.producerId, epoch: b.producerEpoch, batches: [], lastTimestamp: -1 };
      } else {
        const last = current.batches[current.batches.length - 1]?.lastSeq ?? NO_SEQUENCE;
        if (!inSequence(last, b.baseSequence)) {
          return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
            `producer ${b.producerId} epoch ${b.producerEpoch}: sequence ${b.baseSequence} after ${last}`);
        }
        base = current;
      }
      const meta = { firstSeq: b.baseSequence, lastSeq, firstOffset: firstOffsetOfBatch, lastOffset: next - 1, timestamp: b.maxTimestamp };
      updates.set(b.producerId, withBatch(base, meta));
    }
    if (duplicates === 0) return { kind: 'append', updates };
    if (duplicates === batches.length) return { kind: 'duplicate', firstOffset: dupFirst, lastOffset: dupLast };
    return fail(ErrorCode.INVALID_RECORD, 'the append mixes batches already written with new ones');
  }

  /** Applies the updates of an accepted append (checkAppend's answer, unchanged since). */
  commit(updates: ReadonlyMap<number, ProducerEntry>): void {
    for (const [id, entry] of updates) this.producers.set(id, entry);
  }

  /** Takes a batch from the log as it is (recovery, replication): no checks. */
  replay(b: ProducerBatch, baseOffset: number): void {
    if (b.producerId < 0 || (b.attributes & CONTROL_FLAG) !== 0) return;
    const current = this.producers.get(b.producerId);
    const base = current !== undefined && current.epoch === b.producerEpoch
      ? current
      : { producerId: b.producerId, epoch: b.producerEpoch, batches: [], lastTimestamp: -1 };
    const meta = {
      firstSeq: b.baseSequence,
      lastSeq: lastSequence(b.baseSequence, b.lastOffsetDelta),
      firstOffset: baseOffset,
      lastOffset: baseOffset + b.lastOffsetDelta,
      timestamp: b.maxTimestamp,
    };
    this.producers.set(b.producerId, withBatch(base, meta));
  }

  /** The log now starts at `logStartOffset`: producers whose last batch is gone are forgotten. */
  truncateHead(logStartOffset: number): void {
    for (const [id, e] of this.producers) {
      const last = e.batches[e.batches.length - 1];
      if (last === undefined || last.lastOffset < logStartOffset) this.producers.delete(id);
      else if (e.batches[0]!.firstOffset < logStartOffset) e.batches = e.batches.filter((m) => m.lastOffset >= logStartOffset);
    }
  }

  /** Forgets producers silent for producer.id.expiration.ms; returns how many. */
  removeExpired(nowMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      if (nowMs - e.lastTimestamp >= this.expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Replaces the whole state (a snapshot's entries). */
  restore(entries: readonly ProducerEntry[]): void {
    this.producers.clear();
    for (const e of entries) this.producers.set(e.producerId, { ...e, batches: e.batches.map((m) => ({ ...m })) });
  }
}
