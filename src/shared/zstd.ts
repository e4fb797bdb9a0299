/**
 * Zstandard decompression for Kafka batches (codec 4), through fzstd. Pure: bytes in, bytes
 * out; throws on malformed input.
 *
 * fzstd sizes its buffers from what a frame header claims (content size, or window size up to
 * 2 GiB) and does not check that the blocks fill the content size they declared. So the frames
 * are walked here first, block headers only, per RFC 8878:
 *
 *   frame      magic 0xFD2FB528 (LE), header, blocks, [content checksum uint32]
 *   header     descriptor uint8: bits 7-6 content size field size, 5 single segment, 4 unused,
 *              3 reserved (0), 2 checksum flag, 1-0 dictionary id size; [window descriptor
 *              uint8 unless single segment]; [dictionary id]; [content size]
 *   block      uint24 LE: bit 0 last, bits 2-1 type (0 raw, 1 RLE, 2 compressed, 3 reserved),
 *              bits 23-3 size; then `size` bytes (1 byte for RLE, which repeats it `size` times)
 *   skippable  magic 0x184D2A5? (LE), uint32 length, that many bytes
 *
 * That walk refuses a window or content size over the caller's bound before fzstd allocates
 * it, and finds where each frame ends. Each frame is then decoded on its own, a block at a time
 * (at most min(window, 128 KiB) each), stopping as soon as the output passes the bound, and
 * its actual size is checked against the content size it declares. Frames with a dictionary
 * are refused: Kafka clients use none. The content checksum, which Kafka clients do not
 * write, is not verified.
 */
import { Decompress } from 'fzstd';
import { OverBoundError } from './over-bound-error.js';

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const MAX_BLOCK = 128 * 1024;

interface Frame {
  start: number;
  end: number;
  contentSize: number | undefined;
}

/** Decompresses the Zstandard frames of `src`, at most `maxBytes` of content. */
export function zstdDecompress(src: Uint8Array, maxBytes: number): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const f of walkFrames(src, maxBytes)) {
    const frameStart = total;
    const d = new Decompress((chunk) => {
      total += chunk.length;
      if (total > maxBytes) throw new OverBoundError(`zstd content exceeds ${maxBytes} bytes`);
      chunks.push(chunk);
    });
    d.push(src.subarray(f.start, f.end), true);
    if (f.contentSize !== undefined && total - frameStart !== f.contentSize) {
      throw new Error(`zstd frame declares ${f.contentSize} bytes, holds ${total - frameStart}`);
    }
  }
  return chunks.length === 1 ? Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.length) : Buffer.concat(chunks, total);
}

function walkFrames(src: Uint8Array, maxBytes: number): Frame[] {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const frames: Frame[] = [];
  let pos = 0;
  if (src.length === 0) throw new Error('empty zstd body');
  while (pos < src.length) {
    if (pos + 4 > src.length) throw new Error('zstd magic cut short');
    const magic = view.getUint32(pos, true);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (pos + 8 > src.length) throw new Error('zstd skippable frame cut short');
      pos += 8 + view.getUint32(pos + 4, true);
      if (pos > src.length) throw new Error('zstd skippable frame cut short');
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error('not a zstd frame');
    const start = pos;
    pos += 4;
    if (pos >= src.length) throw new Error('zstd frame header cut short');
    const fhd = src[pos++]!;
    const fcsCode = fhd >>> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    if (fhd & 0x08) throw new Error('zstd frame header has its reserved bit set');
    const checksum = (fhd & 0x04) !== 0;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = fcsCode === 0 ? (singleSegment ? 1 : 0) : 1 << fcsCode;
    const headerEnd = pos + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
    if (headerEnd > src.length) throw new Error('zstd frame header cut short');
    let windowSize = 0;
    if (!singleSegment) {
      const wd = src[pos++]!;
      const base = 2 ** (10 + (wd >>> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    let dictId = 0;
    for (let i = 0; i < dictBytes; i++) dictId += src[pos++]! * 2 ** (8 * i);
    if (dictId !== 0) throw new Error(`zstd frame needs dictionary ${dictId}`);
    let contentSize: number | undefined;
    if (fcsBytes > 0) {
      contentSize = 0;
      for (let i = 0; i < fcsBytes; i++) contentSize += src[pos++]! * 2 ** (8 * i);
      if (fcsBytes === 2) contentSize += 256;
    }
    if (singleSegment) windowSize = contentSize!;
    // fzstd allocates the window (or the declared content) before decoding a block.
    if (windowSize > maxBytes || (contentSize ?? 0) > maxBytes) {
      throw new OverBoundError(`zstd frame needs ${Math.max(windowSize, contentSize ?? 0)} bytes, more than ${maxBytes}`);
    }
    const blockMax = Math.min(windowSize, MAX_BLOCK);
    for (let last = false; !last; ) {
      if (pos + 3 > src.length) throw new Error('zstd block header cut short');
      const header = src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error('zstd block of the reserved type');
      if (size > blockMax) throw new Error(`zstd block of ${size} bytes, maximum ${blockMax}`);
      pos += type === 1 ? 1 : size;
      if (pos > src.length) throw new Error('zstd block cut short');
    }
    if (checksum) pos += 4;
    if (pos > src.length) throw new Error('zstd content checksum cut short');
    frames.push({ start, end: pos, contentSize });
  }
  return frames;
}
