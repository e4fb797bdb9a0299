// Reader/Writer primitives: known byte vectors, range edges, length checks before
// allocation, chunked output, and the schema rules the generated code enforces on encode.
import t from 'tap';
import {
  decodeApiVersionsRequest,
  decodeFetchResponse,
  encodeApiVersionsRequest,
  encodeFetchRequest,
  encodeFetchResponse,
  encodeMetadataRequest,
  ProtocolDecodeError,
  ProtocolEncodeError,
  Reader,
  REFERENCE_THRESHOLD,
  Writer,
  ZERO_UUID,
} from '../../src/shared/protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function written(fill: (w: Writer) => void): Buffer {
  const w = new Writer(8);
  fill(w);
  return w.toBuffer();
}

t.test('varints match Kafka ByteUtils vectors', async (tt) => {
  const unsigned: [number, string][] = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [2 ** 32 - 1, 'ffffffff0f']];
  for (const [v, bytes] of unsigned) {
    tt.equal(written((w) => w.unsignedVarint(v)).toString('hex'), bytes, `unsigned varint ${v}`);
    tt.equal(new Reader(hex(bytes)).unsignedVarint(), v);
  }
  const zigzag: [number, string][] = [[0, '00'], [-1, '01'], [1, '02'], [-64, '7f'], [64, '8001'], [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f']];
  for (const [v, bytes] of zigzag) {
    tt.equal(written((w) => w.varint(v)).toString('hex'), bytes, `varint ${v}`);
    tt.equal(new Reader(hex(bytes)).varint(), v);
  }
  const longs = [0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 35 + 3, -(2 ** 40), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
  for (const v of longs) tt.equal(new Reader(written((w) => w.varlong(v))).varlong(), v, `varlong ${v} round-trips`);
  tt.equal(written((w) => w.varlong(-1)).toString('hex'), '01');
  tt.equal(written((w) => w.varlong(2 ** 32)).toString('hex'), '8080808020');
  tt.throws(() => new Reader(hex('ffffffffff01')).unsignedVarint(), ProtocolDecodeError, 'over-long varint');
  tt.throws(() => new Reader(hex('ffffffffffffffffffff01')).varlong(), ProtocolDecodeError, 'over-long varlong');
  tt.throws(() => new Reader(hex('80')).unsignedVarint(), ProtocolDecodeError, 'truncated varint');
});

t.test('fixed-width integers, int64 sentinels and floats', async (tt) => {
  const b = written((w) => {
    w.int8(-2);
    w.int16(-2);
    w.uint16(65535);
    w.int32(-2);
    w.uint32(4294967295);
    w.int64(-1);
    w.int64(Number.MAX_SAFE_INTEGER);
    w.int64(9223372036854775807);
    w.int64(-9223372036854775808);
    w.float64(0.1);
    w.bool(true);
  });
  tt.equal(b.subarray(0, 13).toString('hex'), 'fefffeffff' + 'fffffffe' + 'ffffffff');
  tt.equal(b.subarray(13, 21).toString('hex'), 'ffffffffffffffff', 'int64 -1');
  tt.equal(b.subarray(29, 37).toString('hex'), '7fffffffffffffff', 'Long.MAX_VALUE clamps exactly');
  tt.equal(b.subarray(37, 45).toString('hex'), '8000000000000000', 'Long.MIN_VALUE');
  const r = new Reader(b);
  tt.same([r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32()], [-2, -2, 65535, -2, 4294967295]);
  tt.equal(r.int64(), -1);
  tt.equal(r.int64(), Number.MAX_SAFE_INTEGER);
  tt.equal(r.int64(), 2 ** 63);
  tt.equal(r.int64(), -(2 ** 63));
  tt.equal(r.float64(), 0.1);
  tt.equal(r.bool(), true);
  tt.equal(r.remaining, 0);
});

t.test('strings, bytes and uuids', async (tt) => {
  const b = written((w) => {
    w.string('héllo');
    w.compactString('');
    w.nullableString(null);
    w.compactNullableString(null);
    w.compactNullableString('中🙂');
    w.bytes(Buffer.from('ab'));
    w.compactNullableBytes(null);
    w.uuid('AAAAAAAAAAAAAAAAAAAAAQ');
  });
  const r = new Reader(b);
  tt.equal(r.string(), 'héllo');
  tt.equal(r.compactString(), '');
  tt.equal(r.nullableString(), null);
  tt.equal(r.compactNullableString(), null);
  tt.equal(r.compactNullableString(), '中🙂');
  const bytes = r.bytes();
  tt.equal(bytes.toString(), 'ab');
  tt.equal(bytes.buffer, b.buffer, 'bytes are a view of the frame, not a copy');
  tt.equal(r.compactNullableBytes(), null);
  tt.equal(r.uuid(), 'AAAAAAAAAAAAAAAAAAAAAQ');
  tt.equal(b.subarray(b.length - 16).toString('hex'), '00000000000000000000000000000001');
  tt.throws(() => new Writer().uuid('not-a-uuid'), ProtocolEncodeError);
  tt.throws(() => new Writer().string('x'.repeat(40000)), ProtocolEncodeError, 'int16 string length limit');
  tt.throws(() => new Reader(hex('ffff')).string(), ProtocolDecodeError, 'null for a non-nullable string');
  tt.throws(() => new Reader(hex('00')).compactString(), ProtocolDecodeError, 'null compact non-nullable string');
});

t.test('lengths are checked against the frame before anything is allocated', async (tt) => {
  const frame20 = (prefix: string): Buffer => Buffer.concat([hex(prefix), Buffer.alloc(20 - prefix.length / 2)]);
  tt.throws(() => new Reader(frame20('7fffffff')).bytes(), ProtocolDecodeError, 'int32 bytes length 2^31-1');
  tt.throws(() => new Reader(frame20('80000000')).nullableBytes(), ProtocolDecodeError, 'int32 bytes length -2^31');
  tt.throws(() => new Reader(frame20('8080808008')).compactBytes(), ProtocolDecodeError, 'compact bytes length 2^31');
  tt.throws(() => new Reader(frame20('7fff')).string(), ProtocolDecodeError, 'string length 32767');
  tt.throws(() => new Reader(frame20('7fffffff')).arrayLength(), ProtocolDecodeError, 'array count 2^31-1');
  tt.throws(() => new Reader(frame20('ffffffff0f')).compactArrayLength(), ProtocolDecodeError, 'compact array count 2^32-2');
  tt.throws(() => new Reader(frame20('ffffffff0f')).taggedFieldCount(), ProtocolDecodeError, 'tagged field count');
  tt.throws(() => new Reader(frame20('ffffffff0f')).taggedFieldEnd(), ProtocolDecodeError, 'tagged field size');
  tt.equal(new Reader(frame20('ffffffff')).nullableArrayLength(), -1, 'null array');
  const big = Buffer.alloc(40);
  big.writeInt32BE(8, 10);
  const inner = new Reader(big, 10, 20);
  tt.throws(() => inner.bytes(), ProtocolDecodeError, 'a reader never reads past its end, even inside a larger buffer');
});

t.test('the writer hands out large buffers by reference and copies small ones', async (tt) => {
  const big = Buffer.alloc(REFERENCE_THRESHOLD, 1);
  const small = Buffer.alloc(10, 2);
  const w = new Writer(4);
  w.int32(7);
  w.nullableBytes([big, small]);
  w.compactBytes(big);
  w.int8(9);
  tt.equal(w.length, 4 + 4 + big.length + small.length + 2 + big.length + 1);
  const chunks = w.finish();
  tt.equal(chunks.filter((c) => c === big).length, 2, 'both uses of the large buffer are the buffer itself');
  tt.notOk(chunks.includes(small), 'the small buffer was copied');
  const all = Buffer.concat(chunks);
  const r = new Reader(all);
  tt.equal(r.int32(), 7);
  tt.ok(r.nullableBytes()!.equals(Buffer.concat([big, small])));
  tt.ok(r.compactBytes().equals(big));
  tt.equal(r.int8(), 9);
  tt.equal(w.length, 0, 'finish() starts a new chunk list');
  w.int16(5);
  tt.same(w.finish().map((c) => c.toString('hex')), ['0005'], 'the next output does not repeat the previous one');
  tt.equal(chunks[0]!.readInt32BE(0), 7, 'earlier chunks are not overwritten by later writes');
});

t.test('tagged fields: unknown ones are skipped, known ones must fit their size', async (tt) => {
  // ApiVersionsRequest v3: compact strings name and version, then tagged fields.
  const base = written((w) => encodeApiVersionsRequest(w, 3, { clientSoftwareName: 'c', clientSoftwareVersion: '1' }));
  tt.equal(base.toString('hex'), '0263' + '0231' + '00');
  const withUnknown = Buffer.concat([base.subarray(0, 4), hex('01 63 03 aabbcc')]);
  const r = new Reader(withUnknown);
  tt.same(decodeApiVersionsRequest(r, 3), { clientSoftwareName: 'c', clientSoftwareVersion: '1' });
  tt.equal(r.remaining, 0, 'the unknown tagged field was skipped whole');

  // FetchResponse v12 partition with CurrentLeader (tag 1) declaring 2 bytes but holding 9.
  const value = { responses: [{ topic: 't', partitions: [{ currentLeader: { leaderId: 3, leaderEpoch: 4 } }] }] };
  const good = written((w) => encodeFetchResponse(w, 12, value));
  const decoded = decodeFetchResponse(new Reader(good), 12);
  tt.same(decoded.responses[0]!.partitions[0]!.currentLeader, { leaderId: 3, leaderEpoch: 4 });
  tt.same(decoded.responses[0]!.partitions[0]!.divergingEpoch, { epoch: -1, endOffset: -1 }, 'absent tagged struct holds its defaults');
  const at = good.indexOf(hex('01 09 00000003 00000004 00'));
  tt.ok(at > 0, 'tag 1, size 9, leader id, epoch, empty tagged fields');
  const bad = Buffer.from(good);
  bad[at + 1] = 2;
  tt.throws(() => decodeFetchResponse(new Reader(bad), 12), ProtocolDecodeError);
});

t.test('encoding follows the schema rules for versions, nullability and ignorable fields', async (tt) => {
  tt.throws(() => encodeFetchRequest(new Writer(), 15, { replicaId: 5 }), ProtocolEncodeError, 'a request cannot drop a non-ignorable field');
  tt.doesNotThrow(() => encodeFetchRequest(new Writer(), 15, { replicaId: -1 }), 'the default of a missing field is fine');
  const old = written((w) => encodeFetchResponse(w, 6, { sessionId: 5 }));
  tt.equal(old.toString('hex'), '00000000' + '00000000', 'a response leaves out what the client version cannot carry');
  const v0 = written((w) => encodeFetchResponse(w, 0, { throttleTimeMs: 100, errorCode: 3 }));
  tt.equal(v0.toString('hex'), '00000000', 'ignorable fields are dropped: only the empty responses array remains');
  tt.throws(() => encodeMetadataRequest(new Writer(), 0, { topics: null }), ProtocolEncodeError, 'null where the version forbids it');
  tt.equal(written((w) => encodeMetadataRequest(w, 1, { topics: null })).toString('hex'), 'ffffffff', 'null array where allowed');
  tt.throws(() => encodeFetchResponse(new Writer(), 18, {}), ProtocolEncodeError, 'a version beyond the schema');
  tt.throws(() => decodeFetchResponse(new Reader(Buffer.alloc(8)), -1), ProtocolDecodeError);
  const d = decodeFetchResponse(new Reader(hex('00000000')), 0);
  tt.same(d, { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [], nodeEndpoints: [] }, 'absent fields decode to defaults');
  tt.equal(ZERO_UUID, Buffer.alloc(16).toString('base64url'));
});
