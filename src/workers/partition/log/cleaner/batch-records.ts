/**
 * The records inside one stored batch (layouts in record-batch.ts), as the log cleaner reads
 * and rewrites them: each record's key, whether it has a value, and its bytes. Pure: bytes in,
 * bytes out.
 *
 * A rewritten batch keeps what Kafka's cleaner keeps (MemoryRecords.filterTo): the base
 * offset, each kept record's offset (offset deltas with gaps where records went), lastOffsetDelta
 * (so the producer's last sequence stays computable), producer id, epoch and base sequence, the
 * transactional and control flags, the partition leader epoch and the timestamp type. Kafka's
 * delete horizon (KIP-534) is attribute bit 6 with the horizon in the first-timestamp field; the
 * records' timestamp deltas are then taken from it.
 *
 * A rewritten gzip batch is compressed again with gzip. Snappy, lz4 and zstd batches are
 * rewritten uncompressed: the broker carries decoders for them only (it never compresses what
 * producers send). Batches whose records all stay are copied byte for byte, whatever their codec.
 */
import { gzipSync } from 'node:zlib';
import { Codec, decompressRecords } from '../../../../shared/compression.js';
import { crc32c } from '../../../../shared/crc32c.js';
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_PREFIX,
  isCompressed,
  readVarint,
  readVarlong,
  varintSize,
  writeVarlong,
  type BatchInfo,
} from '../../../../shared/record-batch.js';

export const DELETE_HORIZON_FLAG = 0x40;
const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_FLAG = 0x08;
const ATTRIBUTES_OFFSET = 21;
const CRC_OFFSET = 17;

/** One record of a batch: where its bytes are (in the batch's record section) and what it holds. */
export interface RecordRef {
  offsetDelta: number;
  timestampDelta: number;
  /** Key bytes, null for a record without key. */
  key: Buffer | null;
  /** false: a tombstone (null value). */
  hasValue: boolean;
  /** The whole record, length prefix included. */
  start: number;
  end: number;
  /** Where the key field starts (the part after attributes, timestamp and offset deltas). */
  keyFieldStart: number;
}

export interface BatchRecords {
  /** The record section: the batch's own bytes when uncompressed, else decompressed. */
  body: Buffer;
  records: RecordRef[];
}

export function hasDeleteHorizon(attributes: number): boolean {
  return (attributes & DELETE_HORIZON_FLAG) !== 0;
}

/**
 * The records of the batch `b` inside `buf` (checked by checkBatchAt), or a reason they cannot
 * be read. `maxBytes` bounds a decompressed record section.
 */
export function readBatchRecords(buf: Buffer, b: BatchInfo, maxBytes: number): BatchRecords | string {
  const start = b.position + BATCH_HEADER_SIZE;
  const end = b.position + b.length;
  let body: Buffer;
  if (isCompressed(b.attributes)) {
    const d = decompressRecords(b.attributes & COMPRESSION_MASK, buf.subarray(start, end), maxBytes);
    if (!d.ok) return d.errorMessage;
    body = d.records;
  } else {
    body = buf.subarray(start, end);
  }
  const records: RecordRef[] = [];
  const cur = { pos: 0 };
  for (let i = 0; i < b.recordCount; i++) {
    const recStart = cur.pos;
    const len = readVarint(body, cur, body.length);
    if (len === undefined || len < 0 || cur.pos + len > body.length) return `record ${i} is malformed`;
    const recEnd = cur.pos + len;
    cur.pos += 1;
    const timestampDelta = readVarlong(body, cur, recEnd);
    const offsetDelta = readVarint(body, cur, recEnd);
    if (timestampDelta === undefined || offsetDelta === undefined) return `record ${i} is malformed`;
    const keyFieldStart = cur.pos;
    const keyLen = readVarint(body, cur, recEnd);
    if (keyLen === undefined || cur.pos + Math.max(0, keyLen) > recEnd) return `record ${i} is malformed`;
    const key = keyLen < 0 ? null : body.subarray(cur.pos, cur.pos + keyLen);
    cur.pos += Math.max(0, keyLen);
    const valueLen = readVarint(body, cur, recEnd);
    if (valueLen === undefined) return `record ${i} is malformed`;
    records.push({ offsetDelta, timestampDelta, key, hasValue: valueLen >= 0, start: recStart, end: recEnd, keyFieldStart });
    cur.pos = recEnd;
  }
  return { body, records };
}

/**
 * The batch `b` of `buf` with only `kept` of its records (a non-empty subset, in order), and
 * `deleteHorizonMs` as its delete horizon (-1: none). Returns the new batch's bytes and its
 * largest timestamp with the offset delta of the record holding it.
 */
export function rewriteBatch(
  buf: Buffer,
  b: BatchInfo,
  read: BatchRecords,
  kept: readonly RecordRef[],
  deleteHorizonMs: number,
): { bytes: Buffer; maxTimestamp: number; maxTimestampOffsetDelta: number } {
  const oldFirst = b.firstTimestamp;
  const logAppendTime = (b.attributes & TIMESTAMP_TYPE_FLAG) !== 0;
  let maxTimestamp = -1;
  let maxTimestampOffsetDelta = kept[kept.length - 1]!.offsetDelta;
  for (const r of kept) {
    const ts = oldFirst + r.timestampDelta;
    if (ts > maxTimestamp) {
      maxTimestamp = ts;
      maxTimestampOffsetDelta = r.offsetDelta;
    }
  }
  if (logAppendTime) {
    maxTimestamp = b.maxTimestamp;
    maxTimestampOffsetDelta = b.lastOffsetDelta;
  }
  const firstTimestamp = deleteHorizonMs >= 0 ? deleteHorizonMs : oldFirst;
  const rebase = firstTimestamp !== oldFirst;
  const parts: Buffer[] = [];
  for (const r of kept) {
    if (!rebase) {
      parts.push(read.body.subarray(r.start, r.end));
      continue;
    }
    // A new first timestamp: each record gets its timestamp delta again, the rest copied.
    const tsDelta = oldFirst + r.timestampDelta - firstTimestamp;
    const rest = read.body.subarray(r.keyFieldStart, r.end);
    const size = 1 + varintSize(tsDelta) + varintSize(r.offsetDelta) + rest.length;
    const rec = Buffer.allocUnsafe(varintSize(size) + size);
    let p = writeVarlong(rec, 0, size);
    rec[p++] = 0;
    p = writeVarlong(rec, p, tsDelta);
    p = writeVarlong(rec, p, r.offsetDelta);
    rest.copy(rec, p);
    parts.push(rec);
  }
  let section = Buffer.concat(parts);
  let codec = b.attributes & COMPRESSION_MASK;
  if (codec === Codec.GZIP) section = gzipSync(section);
  else codec = Codec.NONE;
  const header = Buffer.from(buf.subarray(b.position, b.position + BATCH_HEADER_SIZE));
  let attributes = (b.attributes & ~COMPRESSION_MASK) | codec;
  if (deleteHorizonMs >= 0) attributes |= DELETE_HORIZON_FLAG;
  header.writeInt32BE(BATCH_HEADER_SIZE + section.length - BATCH_LENGTH_PREFIX, 8);
  header.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  writeInt64(header, 27, firstTimestamp);
  writeInt64(header, 35, maxTimestamp);
  header.writeInt32BE(kept.length, 57);
  const bytes = Buffer.concat([header, section]);
  bytes.writeUInt32BE(crc32c(bytes, ATTRIBUTES_OFFSET, bytes.length), CRC_OFFSET);
  return { bytes, maxTimestamp, maxTimestampOffsetDelta };
}

/**
 * The header of the batch `b` with no record, as Kafka's cleaner keeps a batch whose records
 * all went but whose producer state (or place at the end of a segment) must stay: uncompressed,
 * first timestamp -1, max timestamp the batch's.
 */
export function emptyBatch(buf: Buffer, b: BatchInfo): Buffer {
  const header = Buffer.from(buf.subarray(b.position, b.position + BATCH_HEADER_SIZE));
  header.writeInt32BE(BATCH_HEADER_SIZE - BATCH_LENGTH_PREFIX, 8);
  header.writeInt16BE(b.attributes & ~(COMPRESSION_MASK | DELETE_HORIZON_FLAG), ATTRIBUTES_OFFSET);
  writeInt64(header, 27, -1);
  header.writeInt32BE(0, 57);
  header.writeUInt32BE(crc32c(header, ATTRIBUTES_OFFSET, header.length), CRC_OFFSET);
  return header;
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}
