/**
 * Cuts a byte stream into frames: [length: uint32 big-endian][length bytes]. The length is
 * checked against the maximum before any of the frame is buffered, so a peer cannot make
 * us hold more than `maxFrameBytes` (plus one read) for it.
 */
export const FRAME_PREFIX_BYTES = 4;

export class FrameTooLargeError extends Error {
  constructor(readonly length: number, readonly max: number) {
    super(`frame of ${length} bytes exceeds the maximum of ${max}`);
    this.name = 'FrameTooLargeError';
  }
}

export function encodeFrame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_PREFIX_BYTES);
  return out;
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Feed bytes; returns the whole frames now available. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < FRAME_PREFIX_BYTES) break;
      const head = this.peek(FRAME_PREFIX_BYTES);
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
      if (this.buffered < FRAME_PREFIX_BYTES + length) break;
      const all = this.take(FRAME_PREFIX_BYTES + length);
      frames.push(all.subarray(FRAME_PREFIX_BYTES));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
