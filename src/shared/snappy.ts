/**
 * Snappy decompression for Kafka batches (codec 2), in the two forms clients write:
 *
 * - raw: one Snappy block (librdkafka): a varint of the uncompressed length, then elements.
 *   Each element starts with a tag byte whose low two bits give its kind:
 *     00 literal   length-1 in tag>>2, or in the next 1-4 bytes (LE) when tag>>2 is 60-63
 *     01 copy      length 4 + ((tag>>2)&7), offset ((tag>>5)<<8) | next byte
 *     10 copy      length 1 + (tag>>2), offset in the next 2 bytes (LE)
 *     11 copy      length 1 + (tag>>2), offset in the next 4 bytes (LE)
 *   A copy repeats `length` bytes from `offset` back in the output (overlap allowed).
 * - xerial framing (Kafka's Java client): the 8-byte magic 0x82 "SNAPPY" 0x00, version and
 *   compatible version (int32 BE each), then chunks of [int32 BE length][raw Snappy block].
 *   Input without the magic is read as one raw block, as xerial's SnappyInputStream does.
 *
 * The decoder is strict where the reference one is: every block must fill exactly the length
 * it declares, and no copy may reach before the start of its block. (snappyjs writes past the
 * declared length into nothing and leaves a short output zero-filled, so the batch it accepted
 * could still fail in a consumer.) Pure: bytes in, bytes out; throws on malformed input.
 */
import { OverBoundError } from './over-bound-error.js';

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER = XERIAL_MAGIC.length + 8;

/** Literals below this length go byte by byte: a subarray view and a native copy cost more. */
const SHORT_COPY = 32;

interface Block {
  /** Where the elements start (after the length varint) and end. */
  start: number;
  end: number;
  length: number;
}

/** Decompresses a raw or xerial-framed Snappy body of at most `maxBytes` uncompressed bytes. */
export function snappyDecompress(src: Uint8Array, maxBytes: number): Buffer {
  const blocks = isXerial(src) ? xerialBlocks(src) : [rawBlock(src, 0, src.length)];
  let total = 0;
  for (const b of blocks) total += b.length;
  if (total > maxBytes) throw new OverBoundError(`snappy body declares ${total} bytes, more than ${maxBytes}`);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const b of blocks) {
    decodeBlock(src, b, out, at);
    at += b.length;
  }
  return out;
}

function isXerial(src: Uint8Array): boolean {
  if (src.length < XERIAL_HEADER) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (src[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function xerialBlocks(src: Uint8Array): Block[] {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const blocks: Block[] = [];
  let pos = XERIAL_HEADER;
  while (pos < src.length) {
    if (pos + 4 > src.length) throw new Error('snappy chunk length cut short');
    const len = view.getInt32(pos);
    pos += 4;
    if (len <= 0 || pos + len > src.length) throw new Error(`snappy chunk of ${len} bytes with ${src.length - pos} left`);
    blocks.push(rawBlock(src, pos, pos + len));
    pos += len;
  }
  return blocks;
}

/** Reads a raw block's length preamble (a base-128 varint of at most 32 bits). */
function rawBlock(src: Uint8Array, start: number, end: number): Block {
  let length = 0;
  let pos = start;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end || shift > 28) throw new Error('bad snappy length preamble');
    const b = src[pos++]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > 0xffff_ffff) throw new Error('bad snappy length preamble');
  return { start: pos, end, length };
}

function decodeBlock(src: Uint8Array, block: Block, out: Buffer, outStart: number): void {
  const outEnd = outStart + block.length;
  const end = block.end;
  let pos = block.start;
  let o = outStart;
  while (pos < end) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > end) throw new Error('snappy literal length cut short');
        len = 0;
        for (let i = 0; i < extra; i++) len += src[pos + i]! * 2 ** (8 * i);
        len += 1;
        pos += extra;
      }
      if (pos + len > end || o + len > outEnd) throw new Error('snappy literal overruns its block');
      if (len < SHORT_COPY) for (let i = 0; i < len; i++) out[o + i] = src[pos + i]!;
      else out.set(src.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > end) throw new Error('snappy copy cut short');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > end) throw new Error('snappy copy cut short');
      len = 1 + (tag >>> 2);
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw new Error('snappy copy cut short');
      len = 1 + (tag >>> 2);
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o - outStart) throw new Error(`snappy copy offset ${offset} out of range`);
    if (o + len > outEnd) throw new Error('snappy copy overruns its block');
    for (let from = o - offset, stop = o + len; o < stop; ) out[o++] = out[from++]!;
  }
  if (o !== outEnd) throw new Error(`snappy block filled ${o - outStart} of ${block.length} bytes`);
}
