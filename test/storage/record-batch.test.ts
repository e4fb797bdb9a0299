import t from 'tap';
import { crc32c } from '../../src/shared/crc32c.js';
import { ErrorCode } from '../../src/shared/errors.js';
import {
  buildRecordBatch,
  readBaseOffset,
  readVarint,
  readVarlong,
  setBaseOffset,
  setPartitionLeaderEpoch,
  validateBatches,
  varintSize,
  writeVarlong,
} from '../../src/shared/record-batch.js';

t.test('crc32c known vectors', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(Buffer.alloc(0)), 0);
  t.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  t.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  t.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  const b = Buffer.from('xx123456789yy');
  t.equal(crc32c(b, 2, 11), 0xe3069283, 'over a range');
});

t.test('crc32c agrees with the bitwise definition at every alignment and length', async (t) => {
  const bitwise = (buf: Uint8Array, start: number, end: number): number => {
    let crc = 0xffffffff;
    for (let i = start; i < end; i++) {
      crc ^= buf[i]!;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  const backing = Buffer.alloc(300);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 2654435761) >>> 24;
  let mismatches = 0;
  for (let offset = 0; offset < 8; offset++) {
    const view = backing.subarray(offset);
    for (let start = 0; start < 8; start++) {
      for (let end = start; end < 120; end++) if (crc32c(view, start, end) !== bitwise(view, start, end)) mismatches++;
    }
  }
  t.equal(mismatches, 0);
});

t.test('zigzag varints round-trip', async (t) => {
  const buf = Buffer.alloc(10);
  for (const v of [0, 1, -1, 63, -64, 64, 300, -300, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 45), Number.MAX_SAFE_INTEGER >> 1]) {
    const end = writeVarlong(buf, 0, v);
    t.equal(end, varintSize(v), `size of ${v}`);
    const cur = { pos: 0 };
    t.equal(readVarlong(buf, cur, end), v);
    if (Math.abs(v) < 2 ** 31) t.equal(readVarint(buf, { pos: 0 }, end), v);
  }
  t.equal(readVarint(Buffer.from([0x80, 0x80]), { pos: 0 }, 2), undefined, 'runs past the end');
});

t.test('built batches validate; broker fields leave the CRC intact', async (t) => {
  const a = buildRecordBatch({
    firstTimestamp: 1000,
    records: [
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }] },
      { key: null, value: null, timestampDelta: 7 },
      { value: Buffer.alloc(300), timestampDelta: 3 },
    ],
  });
  const b = buildRecordBatch({ records: [{ value: Buffer.from('only') }], producerId: 5, producerEpoch: 1, baseSequence: 9 });
  const both = Buffer.concat([a, b]);
  setBaseOffset(both, 0, 2 ** 40);
  setPartitionLeaderEpoch(both, 0, 7);
  const v = validateBatches(both);
  t.equal(v.errorCode, ErrorCode.NONE);
  t.equal(v.batches.length, 2);
  t.match(v.batches[0], { position: 0, length: a.length, baseOffset: 2 ** 40, recordCount: 3, lastOffsetDelta: 2, firstTimestamp: 1000, maxTimestamp: 1007, maxTimestampOffsetDelta: 1, partitionLeaderEpoch: 7 });
  t.match(v.batches[1], { position: a.length, producerId: 5, producerEpoch: 1, baseSequence: 9 });
  t.equal(readBaseOffset(both, 0), 2 ** 40);
});
