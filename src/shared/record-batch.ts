/**
 * Kafka record batch v2 (magic 2): validation, the two broker-owned header fields, a
 * builder for uncompressed batches, and the zigzag varints records are made of. Pure: no I/O.
 *
 * Batch layout (big-endian; offsets in bytes from the batch start):
 *
 *    0  baseOffset            int64   written by the broker on append
 *    8  batchLength           int32   bytes after this field (batch size = 12 + batchLength)
 *   12  partitionLeaderEpoch  int32   written by the broker on append
 *   16  magic                 int8    2
 *   17  crc                   uint32  CRC32C of bytes [21, end): the two broker fields are
 *                                     outside it, so the producer's CRC survives the append
 *   21  attributes            int16   bits 0-2 compression, 3 timestamp type (1 = LogAppendTime),
 *                                     4 transactional, 5 control
 *   23  lastOffsetDelta       int32
 *   27  firstTimestamp        int64
 *   35  maxTimestamp          int64
 *   43  producerId            int64
 *   51  producerEpoch         int16
 *   53  baseSequence          int32
 *   57  recordCount           int32
 *   61  records...            (compressed as one block when compression != 0)
 *
 * Record layout: length varint (bytes after it), attributes int8, timestampDelta varlong,
 * offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint (-1 = null),
 * value, headerCount varint, headers [keyLength varint, key, valueLength varint, value].
 * Varints are zigzag-encoded base-128, least significant group first.
 *
 * int64 fields are read as JS numbers: values beyond 2^53 lose precision (out of range for
 * this broker, which keeps offsets and timestamps as numbers).
 */
import { decompressRecords } from './compression.js';
import { crc32c } from './crc32c.js';
import { ErrorCode } from './errors.js';

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of the header outside batchLength. */
export const BATCH_LENGTH_PREFIX = 12;
export const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const CRC_START = ATTRIBUTES_OFFSET;
const COMPRESSION_MASK = 0x07;

export interface BatchInfo {
  position: number;
  length: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  firstTimestamp: number;
  maxTimestamp: number;
  /** offsetDelta of the record holding maxTimestamp (lastOffsetDelta when compressed). */
  maxTimestampOffsetDelta: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  attributes: number;
  partitionLeaderEpoch: number;
}

export interface ValidationResult {
  errorCode: number;
  errorMessage?: string;
  batches: BatchInfo[];
}

/** Outcome of checking one batch at a position: a batch, or why the bytes are not one. */
export type BatchCheck =
  | { ok: true; batch: BatchInfo }
  | { ok: false; errorCode: number; errorMessage: string; incomplete: boolean };

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * 0x1_0000_0000 + buf.readUInt32BE(pos + 4);
}

function writeInt64(buf: Buffer, pos: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 0x1_0000_0000, pos + 4);
}

function fail(errorCode: number, errorMessage: string, incomplete = false): BatchCheck {
  return { ok: false, errorCode, errorMessage, incomplete };
}

/**
 * Checks the batch starting at `pos` within `buf[pos, end)`: length, magic, CRC32C, and every
 * record's framing and offset delta. `incomplete` tells a batch cut short by `end` (a torn tail
 * during recovery) from a malformed one.
 *
 * The records of a compressed batch are checked only when `decompressUpTo` is given: they are
 * then decompressed (to at most that many bytes, compression.ts) and walked like those of an
 * uncompressed batch. The leader does this before storing a producer's batch, as Kafka's
 * LogValidator does; data replicated from the leader or read back from disk was checked when
 * the leader took it, and its CRC is enough, as in Kafka.
 *
 * Batches from a log (no `decompressUpTo`) may also be compacted ones (log cleaner): records
 * removed, the others keeping their offset deltas, lastOffsetDelta unchanged (it carries the
 * producer's last sequence), possibly no record at all. A producer's batch must be whole:
 * exactly lastOffsetDelta + 1 records numbered from 0.
 *
 * `keysRequiredBy` names the partition of a compacted topic: its leader refuses a record
 * without a key, which compaction could never replace nor delete (Kafka's LogValidator).
 */
export function checkBatchAt(buf: Buffer, pos: number, end: number, decompressUpTo?: number, keysRequiredBy?: string): BatchCheck {
  const avail = end - pos;
  if (avail < BATCH_LENGTH_PREFIX) return fail(ErrorCode.CORRUPT_MESSAGE, 'truncated batch header', true);
  const batchLength = buf.readInt32BE(pos + 8);
  const length = BATCH_LENGTH_PREFIX + batchLength;
  if (length < BATCH_HEADER_SIZE) return fail(ErrorCode.CORRUPT_MESSAGE, `batch length ${batchLength} too small`);
  if (avail < MAGIC_OFFSET + 1) return fail(ErrorCode.CORRUPT_MESSAGE, 'truncated batch header', true);
  const magic = buf.readInt8(pos + MAGIC_OFFSET);
  if (magic !== 2) {
    return magic === 0 || magic === 1
      ? fail(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${magic} is not supported`)
      : fail(ErrorCode.CORRUPT_MESSAGE, `unknown magic ${magic}`);
  }
  if (length > avail) return fail(ErrorCode.CORRUPT_MESSAGE, `batch of ${length} bytes truncated to ${avail}`, true);
  const batchEnd = pos + length;
  if (crc32c(buf, pos + CRC_START, batchEnd) !== buf.readUInt32BE(pos + CRC_OFFSET)) {
    return fail(ErrorCode.CORRUPT_MESSAGE, 'batch CRC32C mismatch');
  }
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  const lastOffsetDelta = buf.readInt32BE(pos + 23);
  const firstTimestamp = readInt64(buf, pos + 27);
  const maxTimestamp = readInt64(buf, pos + 35);
  const recordCount = buf.readInt32BE(pos + 57);
  const fromLog = decompressUpTo === undefined;
  if (recordCount < (fromLog ? 0 : 1)) return fail(ErrorCode.INVALID_RECORD, `record count ${recordCount}`);
  if (fromLog ? lastOffsetDelta < recordCount - 1 : lastOffsetDelta !== recordCount - 1) {
    return fail(ErrorCode.INVALID_RECORD, `lastOffsetDelta ${lastOffsetDelta} with ${recordCount} records`);
  }
  let maxTimestampOffsetDelta = lastOffsetDelta;
  const codec = attributes & COMPRESSION_MASK;
  const deltas = fromLog ? lastOffsetDelta : -1;
  const keysRequired = keysRequiredBy !== undefined;
  if (codec === 0) {
    const walked = walkRecords(buf, pos + BATCH_HEADER_SIZE, batchEnd, recordCount, firstTimestamp, deltas, keysRequired);
    if (walked === KEYLESS) return fail(ErrorCode.INVALID_RECORD, keylessMessage(keysRequiredBy!));
    if (typeof walked === 'string') return fail(ErrorCode.INVALID_RECORD, walked);
    maxTimestampOffsetDelta = walked;
  } else if (decompressUpTo !== undefined) {
    const body = decompressRecords(codec, buf.subarray(pos + BATCH_HEADER_SIZE, batchEnd), decompressUpTo);
    if (!body.ok) return fail(body.errorCode, body.errorMessage);
    // Walked for its checks only: a compressed batch keeps lastOffsetDelta as the offset of its
    // largest timestamp (Kafka's shallow offset), which is also all a follower can know of it.
    const walked = walkRecords(body.records, 0, body.records.length, recordCount, firstTimestamp, deltas, keysRequired);
    if (walked === KEYLESS) return fail(ErrorCode.INVALID_RECORD, keylessMessage(keysRequiredBy!));
    if (typeof walked === 'string') return fail(ErrorCode.INVALID_RECORD, `${walked} (decompressed)`);
  }
  return {
    ok: true,
    batch: {
      position: pos,
      length,
      baseOffset: readInt64(buf, pos),
      lastOffsetDelta,
      recordCount,
      firstTimestamp,
      maxTimestamp,
      maxTimestampOffsetDelta,
      producerId: readInt64(buf, pos + 43),
      producerEpoch: buf.readInt16BE(pos + 51),
      baseSequence: buf.readInt32BE(pos + 53),
      attributes,
      partitionLeaderEpoch: buf.readInt32BE(pos + 12),
    },
  };
}

const KEYLESS = 'record without a key';

function keylessMessage(partition: string): string {
  return `Compacted topic cannot accept message without key in topic partition ${partition}.`;
}

/**
 * Walks the records of a batch in `buf[start, end)`: the batch itself when uncompressed, its
 * decompressed records otherwise. Returns the offsetDelta of the record with the largest
 * timestamp, or a description of the first framing error. `maxDelta` -1: the deltas must be
 * 0, 1, 2...; otherwise they must grow and stay within it (a compacted batch). With
 * `keysRequired`, a record with a null key ends the walk with KEYLESS.
 */
function walkRecords(buf: Buffer, start: number, end: number, count: number, firstTimestamp: number, maxDelta: number, keysRequired: boolean): number | string {
  const cur = { pos: start };
  let maxTs = -Infinity;
  let maxTsDelta = Math.max(0, maxDelta);
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    if (cur.pos >= end) return `batch holds ${i} records, header says ${count}`;
    const len = readVarint(buf, cur, end);
    if (len === undefined || len < 0) return `record ${i}: bad length`;
    const recordEnd = cur.pos + len;
    if (recordEnd > end) return `record ${i} overruns the batch`;
    cur.pos += 1;
    const tsDelta = readVarlong(buf, cur, recordEnd);
    const offsetDelta = readVarint(buf, cur, recordEnd);
    if (tsDelta === undefined || offsetDelta === undefined) return `record ${i}: truncated header`;
    if (maxDelta < 0 ? offsetDelta !== i : offsetDelta <= previousDelta || offsetDelta > maxDelta) return `record ${i} has offsetDelta ${offsetDelta}`;
    previousDelta = offsetDelta;
    if (keysRequired && readVarint(buf, cur, recordEnd) === -1) return KEYLESS;
    if (firstTimestamp + tsDelta > maxTs) {
      maxTs = firstTimestamp + tsDelta;
      maxTsDelta = offsetDelta;
    }
    cur.pos = recordEnd;
  }
  if (cur.pos !== end) return `${end - cur.pos} bytes after the last record`;
  return maxTsDelta;
}

/**
 * Validates every batch of a payload; the first failure decides the error code.
 * `decompressUpTo`, `keysRequiredBy`: as for checkBatchAt.
 */
export function validateBatches(buf: Buffer, decompressUpTo?: number, keysRequiredBy?: string): ValidationResult {
  const batches: BatchInfo[] = [];
  if (buf.length === 0) return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: 'empty record set', batches };
  let pos = 0;
  while (pos < buf.length) {
    const check = checkBatchAt(buf, pos, buf.length, decompressUpTo, keysRequiredBy);
    if (!check.ok) return { errorCode: check.errorCode, errorMessage: check.errorMessage, batches: [] };
    batches.push(check.batch);
    pos += check.batch.length;
  }
  return { errorCode: ErrorCode.NONE, batches };
}

export function readBaseOffset(buf: Buffer, pos: number): number {
  return readInt64(buf, pos);
}

/** The offset of the last record of the batch at `pos` (baseOffset + lastOffsetDelta). */
export function readLastOffset(buf: Buffer, pos: number): number {
  return readInt64(buf, pos) + buf.readInt32BE(pos + 23);
}

export function setBaseOffset(buf: Buffer, pos: number, offset: number): void {
  writeInt64(buf, pos, offset);
}

export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + 12);
}

export function isCompressed(attributes: number): boolean {
  return (attributes & COMPRESSION_MASK) !== 0;
}

/** A read cursor for the varint helpers: they advance `pos`. */
export interface Cursor {
  pos: number;
}

/** Zigzag varint (int32). undefined when it runs past `end` or over 5 bytes. */
export function readVarint(buf: Uint8Array, cur: Cursor, end: number): number | undefined {
  let raw = 0;
  let shift = 0;
  let pos = cur.pos;
  for (;;) {
    if (pos >= end || shift > 28) return undefined;
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  cur.pos = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

/** Zigzag varlong as a number (exact up to 2^53). undefined when malformed. */
export function readVarlong(buf: Uint8Array, cur: Cursor, end: number): number | undefined {
  let raw = 0;
  let mul = 1;
  let pos = cur.pos;
  for (let i = 0; ; i++) {
    if (pos >= end || i >= 10) return undefined;
    const b = buf[pos++]!;
    raw += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  cur.pos = pos;
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/**
 * A record's key or value: a varint length, then that many bytes (-1: null). The bytes are a
 * view into `buf`; undefined when the length itself runs past `end`.
 */
export function readNullableBytes(buf: Buffer, cur: Cursor, end: number): Buffer | null | undefined {
  const len = readVarint(buf, cur, end);
  if (len === undefined) return undefined;
  if (len < 0) return null;
  const b = buf.subarray(cur.pos, cur.pos + len);
  cur.pos += len;
  return b;
}

export function varintSize(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    n++;
  }
  return n;
}

/** Writes a zigzag varint or varlong (the encodings agree for values that fit in 32 bits). */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}

export interface RecordHeader {
  key: string | Buffer;
  value: Buffer | null;
}

export interface RecordInput {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  timestampDelta?: number;
  offsetDelta?: number;
}

export interface BuildBatchOptions {
  baseOffset?: number;
  records: RecordInput[];
  firstTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  compression?: 'none';
}

function bytesSize(b: Buffer | null | undefined): number {
  return b == null ? varintSize(-1) : varintSize(b.length) + b.length;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null | undefined): number {
  if (b == null) return writeVarlong(buf, pos, -1);
  pos = writeVarlong(buf, pos, b.length);
  b.copy(buf, pos);
  return pos + b.length;
}

/** Builds a valid uncompressed v2 batch (CreateTime) with its CRC32C. */
export function buildRecordBatch(opts: BuildBatchOptions): Buffer {
  const firstTimestamp = opts.firstTimestamp ?? Date.now();
  const bodies = opts.records.map((r, i) => {
    const headers = (r.headers ?? []).map((h) => ({
      key: typeof h.key === 'string' ? Buffer.from(h.key) : h.key,
      value: h.value,
    }));
    const tsDelta = r.timestampDelta ?? 0;
    const offsetDelta = r.offsetDelta ?? i;
    let size = 1 + varintSize(tsDelta) + varintSize(offsetDelta) + bytesSize(r.key) + bytesSize(r.value);
    size += varintSize(headers.length);
    for (const h of headers) size += bytesSize(h.key) + bytesSize(h.value);
    return { r, headers, tsDelta, offsetDelta, size };
  });
  let total = BATCH_HEADER_SIZE;
  for (const b of bodies) total += varintSize(b.size) + b.size;
  const buf = Buffer.alloc(total);
  let maxTs = firstTimestamp;
  let pos = BATCH_HEADER_SIZE;
  for (const b of bodies) {
    pos = writeVarlong(buf, pos, b.size);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, b.tsDelta);
    pos = writeVarlong(buf, pos, b.offsetDelta);
    pos = writeBytes(buf, pos, b.r.key);
    pos = writeBytes(buf, pos, b.r.value);
    pos = writeVarlong(buf, pos, b.headers.length);
    for (const h of b.headers) {
      pos = writeBytes(buf, pos, h.key);
      pos = writeBytes(buf, pos, h.value);
    }
    maxTs = Math.max(maxTs, firstTimestamp + b.tsDelta);
  }
  writeInt64(buf, 0, opts.baseOffset ?? 0);
  buf.writeInt32BE(total - BATCH_LENGTH_PREFIX, 8);
  buf.writeInt32BE(opts.partitionLeaderEpoch ?? -1, 12);
  buf.writeInt8(2, MAGIC_OFFSET);
  buf.writeInt16BE(0, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(Math.max(0, opts.records.length - 1), 23);
  writeInt64(buf, 27, firstTimestamp);
  writeInt64(buf, 35, maxTs);
  writeInt64(buf, 43, opts.producerId ?? -1);
  buf.writeInt16BE(opts.producerEpoch ?? -1, 51);
  buf.writeInt32BE(opts.baseSequence ?? -1, 53);
  buf.writeInt32BE(opts.records.length, 57);
  buf.writeUInt32BE(crc32c(buf, CRC_START, total), CRC_OFFSET);
  return buf;
}

/** Recomputes the CRC of the batch at `pos` (for callers that edit covered fields). */
export function resealBatch(buf: Buffer, pos: number): void {
  const end = pos + BATCH_LENGTH_PREFIX + buf.readInt32BE(pos + 8);
  buf.writeUInt32BE(crc32c(buf, pos + CRC_START, end), pos + CRC_OFFSET);
}

/** Timestamps of each record of an uncompressed, already validated batch, with their offsets. */
export function recordTimestamps(buf: Buffer, batch: BatchInfo): Array<{ offset: number; timestamp: number }> {
  const out: Array<{ offset: number; timestamp: number }> = [];
  const end = batch.position + batch.length;
  const cur = { pos: batch.position + BATCH_HEADER_SIZE };
  for (let i = 0; i < batch.recordCount && cur.pos < end; i++) {
    const len = readVarint(buf, cur, end)!;
    const recordEnd = cur.pos + len;
    cur.pos += 1;
    const tsDelta = readVarlong(buf, cur, recordEnd)!;
    const offsetDelta = readVarint(buf, cur, recordEnd)!;
    out.push({ offset: batch.baseOffset + offsetDelta, timestamp: batch.firstTimestamp + tsDelta });
    cur.pos = recordEnd;
  }
  return out;
}
