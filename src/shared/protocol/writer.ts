/**
 * Growable output for the protocol's primitive types (layouts in reader.ts).
 *
 * Output is a list of chunks, not one buffer: a Buffer of at least
 * REFERENCE_THRESHOLD bytes (record batches in Produce and Fetch, often MBs) is placed in
 * the list by reference, so the socket writes it with writev/cork and the record data is
 * never copied. Smaller values are copied into the writer's own buffer, where a copy is
 * cheaper than another iovec.
 *
 * `finish()` hands out the chunks written since the previous `finish()` and keeps the
 * unused tail of the current buffer for what comes next, so one Writer can encode many
 * responses into a few large allocations. Handed-out chunks are never written again.
 *
 * int64 takes a JS number; values beyond the int64 range clamp to Long.MIN/MAX_VALUE,
 * which makes Kafka's Long.MAX_VALUE sentinels round-trip through the Reader.
 */
import { ProtocolEncodeError } from './errors.js';

const TWO_32 = 4294967296;
const INT64_MAX_AS_NUMBER = 9223372036854775807;
export const REFERENCE_THRESHOLD = 1024;

export class Writer {
  private buf: Buffer;
  private readonly minAllocation: number;
  private start = 0;
  private pos = 0;
  private chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initialSize = 512) {
    this.minAllocation = initialSize;
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Bytes written since the last finish(). */
  get length(): number {
    return this.chunkedBytes + this.pos - this.start;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  /** A fresh buffer sized by what is in flight, not by everything already handed out. */
  private grow(n: number): void {
    const used = this.pos - this.start;
    const next = Buffer.allocUnsafe(Math.max(this.minAllocation, 2 * (used + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }

  private cut(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.chunkedBytes += this.pos - this.start;
      this.start = this.pos;
    }
  }

  /** The chunks written since the previous finish(), in order. */
  finish(): Buffer[] {
    this.cut();
    const out = this.chunks;
    this.chunks = [];
    this.chunkedBytes = 0;
    return out;
  }

  /** finish() as one contiguous Buffer (copies only when there are several chunks). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    if (chunks.length === 1) return chunks[0]!;
    return Buffer.concat(chunks);
  }

  /** Appends bytes as they are: by reference when large, copied when small. */
  raw(data: Buffer): void {
    const n = data.length;
    if (n >= REFERENCE_THRESHOLD) {
      this.cut();
      this.chunks.push(data);
      this.chunkedBytes += n;
      return;
    }
    this.ensure(n);
    this.buf.set(data, this.pos);
    this.pos += n;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  uint16(v: number): void {
    this.int16(v);
  }

  int32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  uint32(v: number): void {
    this.int32(v);
  }

  int64(v: number): void {
    let hi: number;
    let lo: number;
    if (v >= INT64_MAX_AS_NUMBER) {
      hi = 0x7fffffff;
      lo = 0xffffffff;
    } else if (v <= -INT64_MAX_AS_NUMBER) {
      hi = -0x80000000;
      lo = 0;
    } else {
      hi = Math.floor(v / TWO_32);
      lo = v - hi * TWO_32;
    }
    this.int32(hi);
    this.int32(lo);
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** Kafka's uuid string form (22 chars of url-safe base64) as its 16 bytes. */
  uuid(v: string): void {
    this.ensure(16);
    const n = this.buf.write(v, this.pos, 16, 'base64url');
    if (n !== 16 || v.length !== 22) throw new ProtocolEncodeError(`not a uuid: ${JSON.stringify(v)}`);
    this.pos += 16;
  }

  unsignedVarint(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let u = v >>> 0;
    while (u > 0x7f) {
      b[this.pos++] = (u & 0x7f) | 0x80;
      u >>>= 7;
    }
    b[this.pos++] = u;
  }

  varint(v: number): void {
    this.unsignedVarint((v << 1) ^ (v >> 31));
  }

  /** Zigzag varlong from a number (exact within the safe-integer range). */
  varlong(v: number): void {
    this.ensure(10);
    const hi = Math.floor(v / TWO_32) | 0;
    const lo = (v - Math.floor(v / TWO_32) * TWO_32) >>> 0;
    // zigzag on the 64-bit two's complement, as two 32-bit halves: (n << 1) ^ (n >> 63)
    const sign = hi >> 31;
    let zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0;
    let zlo = ((lo << 1) ^ sign) >>> 0;
    const b = this.buf;
    while (zhi !== 0 || zlo > 0x7f) {
      b[this.pos++] = (zlo & 0x7f) | 0x80;
      zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0;
      zhi >>>= 7;
    }
    b[this.pos++] = zlo;
  }

  private utf8(s: string, compact: boolean): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (compact) this.unsignedVarint(len + 1);
    else {
      if (len > 0x7fff) throw new ProtocolEncodeError(`string of ${len} bytes exceeds the int16 length limit`);
      this.int16(len);
    }
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  string(s: string): void {
    this.utf8(s, false);
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.utf8(s, false);
  }

  compactString(s: string): void {
    this.utf8(s, true);
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.unsignedVarint(0);
    else this.utf8(s, true);
  }

  private data(b: Buffer | Buffer[], compact: boolean): void {
    if (Buffer.isBuffer(b)) {
      if (compact) this.unsignedVarint(b.length + 1);
      else this.int32(b.length);
      this.raw(b);
      return;
    }
    let len = 0;
    for (const chunk of b) len += chunk.length;
    if (compact) this.unsignedVarint(len + 1);
    else this.int32(len);
    for (const chunk of b) this.raw(chunk);
  }

  bytes(b: Buffer | Buffer[]): void {
    this.data(b, false);
  }

  nullableBytes(b: Buffer | Buffer[] | null): void {
    if (b === null) this.int32(-1);
    else this.data(b, false);
  }

  compactBytes(b: Buffer | Buffer[]): void {
    this.data(b, true);
  }

  compactNullableBytes(b: Buffer | Buffer[] | null): void {
    if (b === null) this.unsignedVarint(0);
    else this.data(b, true);
  }

  /** int32 element count; -1 writes a null array. */
  arrayLength(n: number): void {
    this.int32(n);
  }

  /** Compact element count; -1 writes a null array. */
  compactArrayLength(n: number): void {
    this.unsignedVarint(n + 1);
  }

  emptyTaggedFields(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }

  /** One tagged field whose value was encoded apart (its size must precede it). */
  taggedField(tag: number, value: Buffer): void {
    this.unsignedVarint(tag);
    this.unsignedVarint(value.length);
    this.raw(value);
  }
}
