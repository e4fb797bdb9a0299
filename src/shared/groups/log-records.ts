/**
 * Reads the keys and values back out of the record batches a fetch of `__consumer_offsets`
 * returns (layouts in record-batch.ts). Only uncompressed, non-control batches carry group
 * records: the coordinator writes nothing else to this topic. Pure: bytes in, records out.
 */
import { BATCH_HEADER_SIZE, checkBatchAt, isCompressed, readVarint, readVarlong } from '../record-batch.js';

const CONTROL_BIT = 0x20;

export interface LogRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadBatches {
  records: LogRecord[];
  /** The offset after the last whole batch read (where the next fetch starts). */
  nextOffset: number;
  /** Batches that were whole but could not carry group records (compressed or control). */
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
    if (isCompressed(b.attributes) || (b.attributes & CONTROL_BIT) !== 0) skipped++;
    else readRecords(buf, pos + BATCH_HEADER_SIZE, pos + b.length, b.baseOffset, records);
    pos += b.length;
  }
  return { records, nextOffset, skipped };
}

/** Walks records already framed-checked by checkBatchAt, so lengths are trusted here. */
function readRecords(buf: Buffer, start: number, end: number, baseOffset: number, out: LogRecord[]): void {
  const cur = { pos: start };
  while (cur.pos < end) {
    const len = readVarint(buf, cur, end)!;
    const recordEnd = cur.pos + len;
    cur.pos += 1;
    readVarlong(buf, cur, recordEnd);
    const offsetDelta = readVarint(buf, cur, recordEnd)!;
    const key = readBytes(buf, cur, recordEnd);
    const value = readBytes(buf, cur, recordEnd);
    out.push({ offset: baseOffset + offsetDelta, key, value });
    cur.pos = recordEnd;
  }
}

function readBytes(buf: Buffer, cur: { pos: number }, end: number): Buffer | null {
  const n = readVarint(buf, cur, end)!;
  if (n < 0) return null;
  const b = buf.subarray(cur.pos, cur.pos + n);
  cur.pos += n;
  return b;
}
