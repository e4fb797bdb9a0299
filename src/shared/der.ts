/**
 * A reader of DER (ASN.1's distinguished encoding), as much of it as key stores use: tag,
 * length, contents, and object identifiers as dotted strings. Malformed input throws.
 */

export interface Der {
  /** The identifier octet: class, constructed bit and tag number (numbers up to 30 only). */
  tag: number;
  contents: Buffer;
  /** The whole encoding, header included. */
  encoded: Buffer;
}

export const TAG = {
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0], constructed (EXPLICIT wrappers). */
  CONTEXT_0: 0xa0,
  /** [0], primitive (an IMPLICIT OCTET STRING). */
  CONTEXT_0_PRIMITIVE: 0x80,
} as const;

/** The element at `offset` and the offset after it. */
export function readDer(buf: Buffer, offset = 0): { der: Der; next: number } {
  if (offset + 2 > buf.length) throw new Error('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER tag numbers above 30 are not supported');
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length (indefinite or over 4 bytes)');
    if (offset + 2 + n > buf.length) throw new Error('truncated DER length');
    length = buf.readUIntBE(offset + 2, n);
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new Error('DER element runs past its container');
  return { der: { tag, contents: buf.subarray(offset + header, end), encoded: buf.subarray(offset, end) }, next: end };
}

/** The single element a buffer holds; trailing bytes are an error. */
export function parseDer(buf: Buffer): Der {
  const { der, next } = readDer(buf);
  if (next !== buf.length) throw new Error('trailing bytes after DER element');
  return der;
}

/** The elements inside a constructed element (SEQUENCE, SET, EXPLICIT wrapper). */
export function children(d: Der): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < d.contents.length;) {
    const { der, next } = readDer(d.contents, at);
    out.push(der);
    at = next;
  }
  return out;
}

export function expect(d: Der | undefined, tag: number, what: string): Der {
  if (d === undefined || d.tag !== tag) throw new Error(`${what}: expected tag 0x${tag.toString(16)}, got ${d === undefined ? 'nothing' : `0x${d.tag.toString(16)}`}`);
  return d;
}

export function oid(d: Der | undefined, what: string): string {
  const b = expect(d, TAG.OID, what).contents;
  if (b.length === 0) throw new Error(`${what}: empty object identifier`);
  const parts: number[] = [];
  let n = 0;
  for (const byte of b) {
    n = n * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift()!;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

/** A non-negative INTEGER that fits a JavaScript number. */
export function int(d: Der | undefined, what: string): number {
  const b = expect(d, TAG.INTEGER, what).contents;
  if (b.length === 0 || b.length > 6 || (b[0]! & 0x80) !== 0) throw new Error(`${what}: integer out of range`);
  return b.readUIntBE(0, b.length);
}
