/**
 * Size-prefixed frames, as Kafka's protocol and the raft transport put them on a stream: a
 * 4-byte big-endian size, then that many bytes.
 *
 * FrameReader cuts a stream into frames as its reads arrive. A frame inside one read comes
 * back as a view of that read (no copy); only a frame split across reads is joined. The size
 * is checked as soon as its 4 bytes are there, so a peer announcing a frame larger than the
 * limit is refused before any of that frame is held (beyond the read that brought the size).
 */
export const FRAME_SIZE_BYTES = 4;

/** The largest size a 4-byte signed prefix can announce: the limit when the caller sets none. */
export const MAX_FRAME_BYTES = 0x7fff_ffff;

/** A frame announced a size outside 0..max: the stream cannot be cut further. */
export class FrameSizeError extends Error {
  constructor(readonly size: number, readonly max: number) {
    super(`frame size ${size} outside 0..${max}`);
    this.name = 'FrameSizeError';
  }
}

/** The frame for `payload`: its size, then the payload (one buffer, ready to write). */
export function sizePrefixed(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_SIZE_BYTES + payload.length);
  out.writeInt32BE(payload.length, 0);
  out.set(payload, FRAME_SIZE_BYTES);
  return out;
}

export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {}

  /** Bytes read and not yet returned in a frame. */
  get buffered(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /**
   * The next whole frame's payload (without its size), or null until more bytes arrive.
   * Throws FrameSizeError when the next frame announces a size outside 0..max; the reader is
   * of no further use then.
   */
  next(): Buffer | null {
    if (this.bytes < FRAME_SIZE_BYTES) return null;
    const first = this.chunks[0]!;
    const size = first.length >= FRAME_SIZE_BYTES ? first.readInt32BE(0) : Buffer.concat(this.chunks, FRAME_SIZE_BYTES).readInt32BE(0);
    if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
    if (this.bytes < FRAME_SIZE_BYTES + size) return null;
    return this.take(FRAME_SIZE_BYTES + size).subarray(FRAME_SIZE_BYTES);
  }

  /** Removes n bytes from the front, without copying when one chunk holds them all. */
  private take(n: number): Buffer {
    this.bytes -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
