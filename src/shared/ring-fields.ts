/**
 * The variable-length fields of the ring messages (thread-messages.ts): strings, byte
 * payloads placed at their sender's alignment, and aborted-transaction lists.
 */
import type { RingProducer } from './ring.js';

export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

/** Length, skip count and the most skipped bytes of a bytes field. */
export const BYTES_OVERHEAD = 4 + 1 + 7;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Topic names as UTF-8, kept per sending thread: every part of every request names its topic,
 * and encoding it each time was a visible share of the main thread's allocations. Cleared
 * whole when it grows past the limit, so deleted topics cannot pile up.
 */
const topicBytes = new Map<string, Uint8Array>();
const TOPIC_CACHE_LIMIT = 10_000;

export function encodeTopic(topic: string): Uint8Array {
  let b = topicBytes.get(topic);
  if (b === undefined) {
    if (topicBytes.size >= TOPIC_CACHE_LIMIT) topicBytes.clear();
    b = encoder.encode(topic);
    topicBytes.set(topic, b);
  }
  return b;
}

const NO_TEXT = new Uint8Array(0);
/** Error messages longer than this are cut: they travel as a str (u16 length, UTF-8). */
const MAX_MESSAGE_CHARS = 2000;

/** An optional message as a str; absent travels as empty. */
export function encodeMessage(message: string | undefined): Uint8Array {
  return message ? encoder.encode(message.slice(0, MAX_MESSAGE_CHARS)) : NO_TEXT;
}

export function writeStr(ring: RingProducer, at: number, s: Uint8Array): number {
  ring.view.setUint16(at, s.length, true);
  ring.bytes.set(s, at + 2);
  return at + 2 + s.length;
}

export function writeBytes(ring: RingProducer, at: number, b: Uint8Array): number {
  const skip = (b.byteOffset - (at + 5)) & 7;
  ring.view.setUint32(at, b.length, true);
  ring.view.setUint8(at + 4, skip);
  ring.bytes.set(b, at + 5 + skip);
  return at + 5 + skip + b.length;
}

export function writeAborted(v: DataView, at: number, aborted: readonly AbortedTransaction[]): number {
  v.setUint32(at, aborted.length, true);
  for (let i = 0; i < aborted.length; i++) {
    v.setFloat64(at + 4 + i * 16, aborted[i]!.producerId, true);
    v.setFloat64(at + 12 + i * 16, aborted[i]!.firstOffset, true);
  }
  return at + 4 + aborted.length * 16;
}

export function readAborted(v: DataView, at: number): AbortedTransaction[] {
  const n = v.getUint32(at, true);
  const out: AbortedTransaction[] = [];
  for (let i = 0; i < n; i++) out.push({ producerId: v.getFloat64(at + 4 + i * 16, true), firstOffset: v.getFloat64(at + 12 + i * 16, true) });
  return out;
}

export function readStr(bytes: Uint8Array, v: DataView, at: number): string {
  const n = v.getUint16(at, true);
  return decoder.decode(bytes.subarray(at + 2, at + 2 + n));
}

/** Copies a bytes field out of the ring: the ring reuses its space once the drain returns. */
export function readBytes(bytes: Uint8Array, v: DataView, at: number): Buffer {
  const length = v.getUint32(at, true);
  const start = at + 5 + v.getUint8(at + 4);
  const b = Buffer.allocUnsafe(length + 7);
  const shift = (start - b.byteOffset) & 7;
  const out = b.subarray(shift, shift + length);
  out.set(bytes.subarray(start, start + length));
  return out;
}
