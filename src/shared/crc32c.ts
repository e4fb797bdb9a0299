/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka record
 * batches v2. Slicing-by-16: sixteen 256-entry tables fold sixteen bytes per step, read as four
 * aligned 32-bit words through an Int32Array view of the buffer's memory. On a 2-core VM this
 * ran at ~930 MB/s over 16 KiB batches, against ~440 MB/s for slicing-by-8 with byte reads
 * (bench/log-append.ts prints the rate next to the disk numbers).
 */
import os from 'node:os';

const POLY = 0x82f63b78;

/** Word reads assume the table layout of a little-endian machine; others take the byte path. */
const WORDS = os.endianness() === 'LE';

const TABLES: Int32Array[] = buildTables();

function buildTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 16; k++) {
    const prev = tables[k - 1]!;
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
    tables.push(t);
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = TABLES as [
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
];

/** CRC32C of `buf[start, end)` as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = -1;
  let i = start;
  while (i < end && ((buf.byteOffset + i) & 3) !== 0) crc = (crc >>> 8) ^ T0[(crc ^ buf[i++]!) & 0xff]!;
  const blocks = WORDS ? (end - i) >>> 4 : 0;
  if (blocks > 0) {
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, blocks * 4);
    for (let j = 0; j < w.length; j += 4) {
      const a = crc ^ w[j]!;
      const b = w[j + 1]!;
      const c = w[j + 2]!;
      const d = w[j + 3]!;
      crc =
        T15[a & 0xff]! ^ T14[(a >>> 8) & 0xff]! ^ T13[(a >>> 16) & 0xff]! ^ T12[a >>> 24]! ^
        T11[b & 0xff]! ^ T10[(b >>> 8) & 0xff]! ^ T9[(b >>> 16) & 0xff]! ^ T8[b >>> 24]! ^
        T7[c & 0xff]! ^ T6[(c >>> 8) & 0xff]! ^ T5[(c >>> 16) & 0xff]! ^ T4[c >>> 24]! ^
        T3[d & 0xff]! ^ T2[(d >>> 8) & 0xff]! ^ T1[(d >>> 16) & 0xff]! ^ T0[d >>> 24]!;
    }
    i += blocks * 16;
  }
  while (i < end) crc = (crc >>> 8) ^ T0[(crc ^ buf[i++]!) & 0xff]!;
  return (crc ^ -1) >>> 0;
}
