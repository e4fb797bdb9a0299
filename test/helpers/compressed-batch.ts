/**
 * Compressed record batches for tests, laid out the way clients write them: the records
 * section of an uncompressed batch (buildRecordBatch) compressed as one body, the codec in the
 * attributes, the CRC recomputed. Bodies:
 *
 * - gzip: node:zlib.
 * - snappy: raw (one snappyjs block, as librdkafka writes) or xerial-framed (Kafka's Java
 *   client: magic, version 1, compatible 1, then [int32 length][snappyjs block] per chunk).
 * - lz4: an LZ4 frame with independent 64 KiB blocks compressed by lz4js.compressBlock, as
 *   Kafka's Lz4BlockOutputStream lays it out (lz4js.compress itself marks its blocks
 *   dependent, which Kafka refuses).
 * - zstd: a Zstandard frame of raw blocks (valid zstd that any decoder reads; no compressor
 *   is installed for Node). Real zstd compression comes from kcat in the tests that need it.
 *
 * Options let a test lie in the header (record count, lastOffsetDelta), in the records
 * (offset deltas via RecordInput.offsetDelta), or after them (trailing bytes), or replace the
 * body outright.
 */
import { gzipSync } from 'node:zlib';
import lz4 from 'lz4js';
import snappy from 'snappyjs';
import { xxh32 } from '../../src/shared/lz4-frame.js';
import { BATCH_HEADER_SIZE, buildRecordBatch, resealBatch, type BuildBatchOptions } from '../../src/shared/record-batch.js';

export type BodyCodec = 'gzip' | 'snappy' | 'snappy-xerial' | 'lz4' | 'zstd';

export const CODEC_ID: Record<BodyCodec, number> = { gzip: 1, snappy: 2, 'snappy-xerial': 2, lz4: 3, zstd: 4 };

export function compress(codec: BodyCodec, data: Buffer): Buffer {
  switch (codec) {
    case 'gzip':
      return gzipSync(data);
    case 'snappy':
      return Buffer.from(snappy.compress(data));
    case 'snappy-xerial':
      return xerialSnappy(data, 32 * 1024);
    case 'lz4':
      return lz4Frame(data);
    case 'zstd':
      return zstdRawFrame(data);
  }
}

function xerialSnappy(data: Buffer, chunkSize: number): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts = [header];
  for (let at = 0; at < data.length; at += chunkSize) {
    const block = Buffer.from(snappy.compress(data.subarray(at, at + chunkSize)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** FLG 0x64: version 01, independent blocks, content checksum; BD 0x40: 64 KiB blocks. */
export function lz4Frame(data: Buffer, opts: { blockChecksum?: boolean } = {}): Buffer {
  const blockMax = 64 * 1024;
  const flg = 0x64 | (opts.blockChecksum ? 0x10 : 0);
  const head = Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, 0x40, 0]);
  head[6] = (xxh32(head, 4, 6) >>> 8) & 0xff;
  const parts: Buffer[] = [head];
  const scratch = new Uint8Array(lz4.compressBound(blockMax));
  for (let at = 0; at < data.length; at += blockMax) {
    const n = Math.min(blockMax, data.length - at);
    const size = lz4.compressBlock(data, scratch, at, n, new Uint32Array(1 << 16));
    const packed = size > 0 && size < n;
    const stored = packed ? Buffer.from(scratch.subarray(0, size)) : data.subarray(at, at + n);
    const word = Buffer.alloc(4);
    word.writeUInt32LE(packed ? size : (n | 0x8000_0000) >>> 0);
    parts.push(word, stored);
    if (opts.blockChecksum) {
      const sum = Buffer.alloc(4);
      sum.writeUInt32LE(xxh32(stored));
      parts.push(sum);
    }
  }
  const tail = Buffer.alloc(8);
  tail.writeUInt32LE(xxh32(data), 4);
  parts.push(tail);
  return Buffer.concat(parts);
}

/** One zstd frame with its content size, the content in raw blocks of at most 128 KiB. */
export function zstdRawFrame(data: Buffer): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32LE(0xfd2fb528, 0);
  head[4] = 0xe0; // 8-byte content size, single segment, no checksum, no dictionary
  head.writeUInt32LE(data.length, 5);
  const parts: Buffer[] = [head];
  const max = 128 * 1024;
  for (let at = 0; at === 0 || at < data.length; at += max) {
    const n = Math.min(max, data.length - at);
    const last = at + max >= data.length ? 1 : 0;
    const h = (n << 3) | last; // type 0: raw
    parts.push(Buffer.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff]), data.subarray(at, at + n));
  }
  return Buffer.concat(parts);
}

export interface CompressedBatchOptions extends BuildBatchOptions {
  /** recordCount written in the header (lastOffsetDelta follows it unless set too). */
  recordCount?: number;
  lastOffsetDelta?: number;
  /** Bytes appended to the records before compression. */
  trailing?: Buffer;
  /** The body as sent, instead of the compressed records. */
  body?: Buffer;
  /** Attribute bits 0-2 instead of the codec's. */
  codecId?: number;
}

export function compressedBatch(codec: BodyCodec, opts: CompressedBatchOptions): Buffer {
  const plain = buildRecordBatch(opts);
  const records = plain.subarray(BATCH_HEADER_SIZE);
  const body = opts.body ?? compress(codec, opts.trailing ? Buffer.concat([records, opts.trailing]) : records);
  const batch = Buffer.concat([plain.subarray(0, BATCH_HEADER_SIZE), body]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt16BE(opts.codecId ?? CODEC_ID[codec], 21);
  if (opts.recordCount !== undefined) {
    batch.writeInt32BE(opts.recordCount, 57);
    batch.writeInt32BE(opts.lastOffsetDelta ?? opts.recordCount - 1, 23);
  } else if (opts.lastOffsetDelta !== undefined) {
    batch.writeInt32BE(opts.lastOffsetDelta, 23);
  }
  resealBatch(batch, 0);
  return batch;
}
