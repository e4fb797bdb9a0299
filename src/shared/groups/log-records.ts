/**
 * Reads the keys and values back out of the record batches a fetch of a coordinator's topic
 * (`__consumer_offsets`, `__transaction_state`) returns (layouts in record-batch.ts). Only
 * uncompressed batches carry coordinator records: the coordinators write nothing else. Records
 * written inside a transaction (offsets committed by a transactional producer) say so, and a
 * transaction marker comes out as one record with its control type and no key or value.
 * Pure: bytes in, records out.
 */
import { CONTROL_FLAG, controlTypeAt, TRANSACTIONAL_FLAG, type ControlType } from '../control-records.js';
import { BATCH_HEADER_SIZE, checkBatchAt, isCompressed, readNullableBytes, readVarint, readVarlong } from '../record-batch.js';

export interface LogRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** The batch's producer when it was written in a transaction, else -1. */
  transactionalProducerId: number;
  /** For a transaction marker: COMMIT or ABORT (of `transactionalProducerId`'s transaction). */
  control?: ControlType;
}

export interface ReadBatches {
  records: LogRecord[];
  /** The offset after the last whole batch read (where the next fetch starts). */
  nextOffset: number;
  /** Batches that were whole but could not carry coordinator records (compressed, or unreadable markers). */
  skipped: number;
}

/** Reads every whole batch in `buf`; a batch cut short at the end is left for the next read. */
export function readLogRecords(buf: Buffer, fromOffset: number): ReadBatches {
  const records: LogRecord[] = [];
  let nextOffset = fromOffset;
  let skipped = 0;
  let pos = 0;
  while (pos < buf.length) {
    const check = checkBatchAt(buf, pos, buf.length);
    if (!check.ok) break;
    const b = check.batch;
    nextOffset = b.baseOffset + b.lastOffsetDelta + 1;
    const producerId = (b.attributes & TRANSACTIONAL_FLAG) !== 0 ? Number(buf.readBigInt64BE(pos + 43)) : -1;
    if (isCompressed(b.attributes)) skipped++;
    else if ((b.attributes & CONTROL_FLAG) !== 0) {
      const control = controlTypeAt(buf, pos, pos + b.length);
      if (control === undefined || producerId < 0) skipped++;
      else records.push({ offset: b.baseOffset, key: null, value: null, transactionalProducerId: producerId, control });
    } else readRecords(buf, pos + BATCH_HEADER_SIZE, pos + b.length, b.baseOffset, producerId, records);
    pos += b.length;
  }
  return { records, nextOffset, skipped };
}

/** Walks records already framed-checked by checkBatchAt, so lengths are trusted here. */
function readRecords(buf: Buffer, start: number, end: number, baseOffset: number, transactionalProducerId: number, out: LogRecord[]): void {
  const cur = { pos: start };
  while (cur.pos < end) {
    const len = readVarint(buf, cur, end)!;
    const recordEnd = cur.pos + len;
    cur.pos += 1;
    readVarlong(buf, cur, recordEnd);
    const offsetDelta = readVarint(buf, cur, recordEnd)!;
    const key = readNullableBytes(buf, cur, recordEnd)!;
    const value = readNullableBytes(buf, cur, recordEnd)!;
    out.push({ offset: baseOffset + offsetDelta, key, value, transactionalProducerId });
    cur.pos = recordEnd;
  }
}
