/**
 * LZ4 frame decompression for Kafka batches (codec 3). Pure: bytes in, bytes out; throws on
 * malformed input.
 *
 * Frame layout (little-endian), as Kafka's Lz4BlockInputStream reads it:
 *
 *   magic        uint32  0x184D2204
 *   FLG          uint8   bits 7-6 version (01), 5 block independence (must be 1), 4 block
 *                        checksum, 3 content size, 2 content checksum, 1-0 reserved (0)
 *   BD           uint8   bits 6-4 block maximum size (4: 64 KiB, 5: 256 KiB, 6: 1 MiB,
 *                        7: 4 MiB), other bits reserved (0)
 *   contentSize  uint64  when FLG bit 3
 *   HC           uint8   second byte of xxHash32 (seed 0) of FLG..contentSize
 *   blocks       [uint32 size (high bit: stored uncompressed), data, uint32 xxHash32 when
 *                FLG bit 4]... ended by a size of 0
 *   checksum     uint32  xxHash32 of the whole content, when FLG bit 2
 *
 * One frame per batch, and nothing after it. Every checksum present is verified (Kafka skips
 * the content checksum; librdkafka's decoder does not, so a consumer would choke on it).
 *
 * Block format: sequences of [token: literal length (4 high bits), match length - 4 (4 low
 * bits)][more literal length bytes while 255][literals][offset uint16][more match length bytes
 * while 255]; the last sequence is literals only.
 */
import { OverBoundError } from './over-bound-error.js';

const MAGIC = 0x184d2204;
const BLOCK_MAX: Record<number, number> = { 4: 0x1_0000, 5: 0x4_0000, 6: 0x10_0000, 7: 0x40_0000 };
const UNCOMPRESSED_BIT = 0x8000_0000;
const MIN_MATCH = 4;

/** Decompresses one LZ4 frame of at most `maxBytes` content bytes. */
export function lz4FrameDecompress(src: Uint8Array, maxBytes: number): Buffer {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 7 || view.getUint32(0, true) !== MAGIC) throw new Error('not an LZ4 frame');
  const flg = src[4]!;
  const bd = src[5]!;
  if (flg >>> 6 !== 1) throw new Error(`LZ4 frame version ${flg >>> 6}`);
  if ((flg & 0x20) === 0) throw new Error('LZ4 frame with dependent blocks');
  if ((flg & 0x03) !== 0 || (bd & 0x8f) !== 0) throw new Error('LZ4 frame descriptor has reserved bits set');
  const blockMax = BLOCK_MAX[(bd >>> 4) & 7];
  if (blockMax === undefined) throw new Error(`LZ4 block size code ${(bd >>> 4) & 7}`);
  const blockChecksum = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  let pos = 6;
  let contentSize: number | undefined;
  if (flg & 0x08) {
    if (src.length < pos + 9) throw new Error('LZ4 frame descriptor cut short');
    contentSize = view.getUint32(pos + 4, true) * 0x1_0000_0000 + view.getUint32(pos, true);
    if (contentSize > maxBytes) throw new OverBoundError(`LZ4 frame declares ${contentSize} bytes, more than ${maxBytes}`);
    pos += 8;
  }
  if (((xxh32(src, 4, pos) >>> 8) & 0xff) !== src[pos]) throw new Error('LZ4 frame descriptor checksum mismatch');
  pos++;

  // One pass over the block headers bounds the output before anything is allocated.
  let bound = 0;
  for (let p = pos; ; ) {
    if (p + 4 > src.length) throw new Error('LZ4 block size cut short');
    const word = view.getUint32(p, true);
    const size = word & ~UNCOMPRESSED_BIT;
    if (size === 0) break;
    if (size > blockMax) throw new Error(`LZ4 block of ${size} bytes, maximum ${blockMax}`);
    bound += (word & UNCOMPRESSED_BIT) !== 0 ? size : blockMax;
    p += 4 + size + (blockChecksum ? 4 : 0);
  }
  const out = Buffer.allocUnsafe(Math.min(bound, maxBytes, contentSize ?? Infinity));
  let o = 0;
  for (;;) {
    const word = view.getUint32(pos, true);
    pos += 4;
    const size = word & ~UNCOMPRESSED_BIT;
    if (size === 0) break;
    if (pos + size + (blockChecksum ? 4 : 0) > src.length) throw new Error('LZ4 block cut short');
    if (blockChecksum && xxh32(src, pos, pos + size) !== view.getUint32(pos + size, true)) {
      throw new Error('LZ4 block checksum mismatch');
    }
    if ((word & UNCOMPRESSED_BIT) !== 0) {
      if (o + size > out.length) throw overrun(o + size, maxBytes);
      out.set(src.subarray(pos, pos + size), o);
      o += size;
    } else {
      o = decodeBlock(src, pos, pos + size, out, o, Math.min(out.length, o + blockMax), maxBytes);
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (contentSize !== undefined && o !== contentSize) throw new Error(`LZ4 frame declares ${contentSize} bytes, holds ${o}`);
  if (contentChecksum) {
    if (pos + 4 > src.length) throw new Error('LZ4 content checksum cut short');
    if (xxh32(out, 0, o) !== view.getUint32(pos, true)) throw new Error('LZ4 content checksum mismatch');
    pos += 4;
  }
  if (pos !== src.length) throw new Error(`${src.length - pos} bytes after the LZ4 frame`);
  return out.subarray(0, o);
}

/**
 * Copies below this length go byte by byte: most literal runs and matches are a few bytes,
 * and for those a subarray view and a native copy cost more than the loop.
 */
const SHORT_COPY = 32;

function copyOut(src: Uint8Array, pos: number, n: number, out: Buffer, o: number): void {
  if (n < SHORT_COPY) for (let i = 0; i < n; i++) out[o + i] = src[pos + i]!;
  else out.set(src.subarray(pos, pos + n), o);
}

/** Past the output's room: over the caller's bound, or over what the frame itself allows. */
function overrun(end: number, maxBytes: number): Error {
  return end > maxBytes ? new OverBoundError(`LZ4 content exceeds ${maxBytes} bytes`) : new Error('LZ4 content overruns its declared size');
}

/** Decodes one independent block into `out` from `o`, writing below `limit`; returns the new end. */
function decodeBlock(src: Uint8Array, pos: number, end: number, out: Buffer, o: number, limit: number, maxBytes: number): number {
  const blockStart = o;
  for (;;) {
    if (pos >= end) throw new Error('LZ4 block ends without literals');
    const token = src[pos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      for (let b = 255; b === 255; ) {
        if (pos >= end) throw new Error('LZ4 literal length cut short');
        b = src[pos++]!;
        literals += b;
      }
    }
    if (pos + literals > end) throw new Error('LZ4 literals overrun the block');
    if (o + literals > limit) throw overrun(o + literals, maxBytes);
    copyOut(src, pos, literals, out, o);
    pos += literals;
    o += literals;
    if (pos === end) return o;
    if (pos + 2 > end) throw new Error('LZ4 match offset cut short');
    const offset = src[pos]! | (src[pos + 1]! << 8);
    pos += 2;
    if (offset === 0 || offset > o - blockStart) throw new Error(`LZ4 match offset ${offset} out of range`);
    let length = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) {
      for (let b = 255; b === 255; ) {
        if (pos >= end) throw new Error('LZ4 match length cut short');
        b = src[pos++]!;
        length += b;
      }
    }
    if (o + length > limit) throw overrun(o + length, maxBytes);
    if (offset >= length && length >= SHORT_COPY) {
      out.copyWithin(o, o - offset, o - offset + length);
      o += length;
    } else {
      for (let from = o - offset, stop = o + length; o < stop; ) out[o++] = out[from++]!;
    }
  }
}

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function readU32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** xxHash32 (seed 0) of `buf[start, end)`, unsigned. */
export function xxh32(buf: Uint8Array, start = 0, end = buf.length): number {
  let p = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const limit = end - 16; p <= limit; p += 16) {
      v1 = Math.imul(rotl((v1 + Math.imul(readU32(buf, p), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(readU32(buf, p + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(readU32(buf, p + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(readU32(buf, p + 12), P2)) | 0, 13), P1);
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = P5;
  }
  h = (h + (end - start)) | 0;
  for (; p + 4 <= end; p += 4) h = Math.imul(rotl((h + Math.imul(readU32(buf, p), P3)) | 0, 17), P4);
  for (; p < end; p++) h = Math.imul(rotl((h + Math.imul(buf[p]!, P5)) | 0, 11), P1);
  h = Math.imul(h ^ (h >>> 15), P2);
  h = Math.imul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}
