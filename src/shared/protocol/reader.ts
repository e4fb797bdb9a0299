/**
 * Cursor over one Kafka frame (or part of one), reading the protocol's primitive types.
 *
 * Wire layout of the primitives (big-endian throughout):
 *   int8/16/32/64, uint16/32   fixed width, two's complement
 *   float64                    IEEE 754 double
 *   bool                       int8, non-zero is true
 *   uuid                       16 raw bytes; surfaced as Kafka's string form, url-safe
 *                              base64 without padding (22 chars), as `kafka-topics` prints
 *   varint / varlong           zigzag, 7 bits per byte, low group first (max 5 / 10 bytes)
 *   unsigned varint            same without zigzag (max 5 bytes)
 *   string / bytes             int16 / int32 length then data; -1 is null where nullable
 *   compact string / bytes     unsigned varint (length + 1) then data; 0 is null
 *   array / compact array      int32 count / unsigned varint (count + 1); -1 / 0 is null
 *   tagged fields              unsigned varint count, then per field: unsigned varint tag,
 *                              unsigned varint size, size bytes
 *
 * Every length and count is checked against the bytes that remain BEFORE anything is
 * allocated, so a hostile prefix (2^31 in a 20-byte frame) fails fast with a
 * ProtocolDecodeError instead of allocating. An array count is bounded by the remaining
 * byte count because every element of every array in the schemas takes at least one byte.
 *
 * int64 values come out as JS numbers: exact within the safe-integer range, which holds
 * offsets, timestamps and producer ids; beyond it they round (Long.MAX_VALUE becomes
 * 2^63, which the Writer clamps back to Long.MAX_VALUE). Bytes and records come out as
 * subarrays of the frame, never copies: they stay valid as long as the frame is.
 */
import { ProtocolDecodeError } from './errors.js';

const TWO_32 = 4294967296;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n > this.end - this.pos) {
      throw new ProtocolDecodeError(`need ${n} bytes at offset ${this.pos}, only ${this.end - this.pos} left`);
    }
  }

  int8(): number {
    this.need(1);
    const v = this.buf[this.pos++]!;
    return (v << 24) >> 24;
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  int16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p]! << 24) | (b[p + 1]! << 16)) >> 16;
  }

  uint16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  int32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  int64(): number {
    const hi = this.int32();
    const lo = this.int32() >>> 0;
    return hi * TWO_32 + lo;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  uuid(): string {
    this.need(16);
    const s = this.buf.toString('base64url', this.pos, this.pos + 16);
    this.pos += 16;
    return s;
  }

  unsignedVarint(): number {
    const b = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new ProtocolDecodeError(`truncated varint at offset ${this.pos}`);
      const byte = b[this.pos++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new ProtocolDecodeError(`varint longer than 5 bytes at offset ${this.pos}`);
  }

  varint(): number {
    const u = this.unsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag varlong as a number (exact within the safe-integer range). */
  varlong(): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolDecodeError(`truncated varlong at offset ${this.pos}`);
      const byte = b[this.pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((byte & 0x80) === 0) {
        // zigzag: (u >>> 1) ^ -(u & 1), done on the two 32-bit halves to stay exact.
        const half = (hi >>> 1) * TWO_32 + (((lo >>> 1) | ((hi & 1) << 31)) >>> 0);
        return (lo & 1) === 1 ? -half - 1 : half;
      }
    }
    throw new ProtocolDecodeError(`varlong longer than 10 bytes at offset ${this.pos}`);
  }

  private utf8(len: number): string {
    this.need(len);
    const p = this.pos;
    this.pos = p + len;
    return this.buf.toString('utf8', p, p + len);
  }

  private slice(len: number): Buffer {
    this.need(len);
    const p = this.pos;
    this.pos = p + len;
    return this.buf.subarray(p, p + len);
  }

  string(): string {
    const len = this.int16();
    if (len < 0) throw new ProtocolDecodeError(`negative string length ${len} for a non-nullable string`);
    return this.utf8(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolDecodeError(`invalid string length ${len}`);
    return this.utf8(len);
  }

  compactString(): string {
    const n = this.unsignedVarint();
    if (n === 0) throw new ProtocolDecodeError('null compact string for a non-nullable string');
    return this.utf8(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.unsignedVarint();
    return n === 0 ? null : this.utf8(n - 1);
  }

  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) throw new ProtocolDecodeError(`negative bytes length ${len} for non-nullable bytes`);
    return this.slice(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolDecodeError(`invalid bytes length ${len}`);
    return this.slice(len);
  }

  compactBytes(): Buffer {
    const n = this.unsignedVarint();
    if (n === 0) throw new ProtocolDecodeError('null compact bytes for non-nullable bytes');
    return this.slice(n - 1);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.unsignedVarint();
    return n === 0 ? null : this.slice(n - 1);
  }

  private checkCount(n: number): number {
    if (n > this.end - this.pos) {
      throw new ProtocolDecodeError(`array of ${n} elements cannot fit in ${this.end - this.pos} bytes`);
    }
    return n;
  }

  /** int32 element count of a non-nullable array. */
  arrayLength(): number {
    const n = this.int32();
    if (n < 0) throw new ProtocolDecodeError(`negative array length ${n} for a non-nullable array`);
    return this.checkCount(n);
  }

  /** int32 element count, -1 for null. */
  nullableArrayLength(): number {
    const n = this.int32();
    if (n === -1) return -1;
    if (n < 0) throw new ProtocolDecodeError(`invalid array length ${n}`);
    return this.checkCount(n);
  }

  compactArrayLength(): number {
    const n = this.unsignedVarint();
    if (n === 0) throw new ProtocolDecodeError('null compact array for a non-nullable array');
    return this.checkCount(n - 1);
  }

  /** Compact element count, -1 for null. */
  compactNullableArrayLength(): number {
    const n = this.unsignedVarint();
    return n === 0 ? -1 : this.checkCount(n - 1);
  }

  /** Reads a tagged field's size and returns the offset where its value ends. */
  taggedFieldEnd(): number {
    const size = this.unsignedVarint();
    this.need(size);
    return this.pos + size;
  }

  /**
   * Closes a known tagged field: a value shorter than its declared size (a newer peer
   * that added to a tagged struct) is tolerated, a longer one is corrupt.
   */
  endTaggedField(end: number): void {
    if (this.pos > end) throw new ProtocolDecodeError(`tagged field overran its size by ${this.pos - end} bytes`);
    this.pos = end;
  }

  /** Tagged-field count; each field takes at least two bytes (tag and size). */
  taggedFieldCount(): number {
    const n = this.unsignedVarint();
    if (n > this.end - this.pos) throw new ProtocolDecodeError(`${n} tagged fields cannot fit in ${this.end - this.pos} bytes`);
    return n;
  }
}
