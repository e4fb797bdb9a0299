/**
 * The records of a Fetch answer's record set, read the way a consumer reads them: v2 batches
 * back to back, each record's offset (base offset + delta), key and value, and of each batch
 * what a read_committed reader needs (producer id, transactional and control flags, last
 * offset). Compressed batches are decompressed with the broker's own codecs. A partial batch
 * at the end, which a fetch may return when its size limit cuts a batch, is skipped.
 */
import { decompressRecords } from '../shared/compression.js';
import { CONTROL_FLAG, TRANSACTIONAL_FLAG } from '../shared/control-records.js';
import { readNullableBytes, readVarint, readVarlong, type Cursor } from '../shared/record-batch.js';

export interface ReadRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ReadBatch {
  baseOffset: number;
  lastOffset: number;
  producerId: number;
  transactional: boolean;
  control: boolean;
  records: ReadRecord[];
}

/** A decompressed batch may hold this much (far above what a checker batch holds). */
const MAX_BATCH_BYTES = 64 << 20;

function readBytes(buf: Buffer, cur: Cursor, end: number): Buffer | null {
  const b = readNullableBytes(buf, cur, end);
  if (b === undefined) throw new Error('truncated record');
  return b;
}

export function parseRecordSet(records: Buffer): ReadRecord[] {
  return parseBatches(records).flatMap((b) => b.records);
}

export function parseBatches(records: Buffer): ReadBatch[] {
  const batches: ReadBatch[] = [];
  let pos = 0;
  while (pos + 12 <= records.length) {
    const baseOffset = records.readInt32BE(pos) * 0x1_0000_0000 + records.readUInt32BE(pos + 4);
    const end = pos + 12 + records.readInt32BE(pos + 8);
    if (end > records.length) break;
    if (records.readInt8(pos + 16) !== 2) throw new Error(`magic ${records.readInt8(pos + 16)} at ${pos}`);
    const attributes = records.readInt16BE(pos + 21);
    const codec = attributes & 0x07;
    const count = records.readInt32BE(pos + 57);
    let body = records.subarray(pos + 61, end);
    if (codec !== 0) {
      const d = decompressRecords(codec, body, MAX_BATCH_BYTES);
      if (!d.ok) throw new Error(`batch at offset ${baseOffset}: ${d.errorMessage}`);
      body = d.records;
    }
    const out: ReadRecord[] = [];
    const cur: Cursor = { pos: 0 };
    for (let i = 0; i < count; i++) {
      const len = readVarint(body, cur, body.length);
      if (len === undefined) throw new Error('truncated record length');
      const recordEnd = cur.pos + len;
      cur.pos += 1;
      readVarlong(body, cur, recordEnd);
      const offsetDelta = readVarint(body, cur, recordEnd)!;
      const key = readBytes(body, cur, recordEnd);
      const value = readBytes(body, cur, recordEnd);
      out.push({ offset: baseOffset + offsetDelta, key, value });
      cur.pos = recordEnd;
    }
    batches.push({
      baseOffset,
      lastOffset: baseOffset + records.readInt32BE(pos + 23),
      producerId: Number(records.readBigInt64BE(pos + 43)),
      transactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
      control: (attributes & CONTROL_FLAG) !== 0,
      records: out,
    });
    pos = end;
  }
  return batches;
}
