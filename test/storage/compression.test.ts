// Decompression of Kafka's batch codecs (src/shared/compression.ts) and the leader's check of
// compressed batches (validateBatches with a decompression bound).
//
// fixtures/<client>-<codec>.hex are record sets real clients wrote with the messages of
// fixtureMessages(), fetched back raw from the broker: zstd from kcat (librdkafka 2.0.2, `-z
// zstd`); gzip, snappy (raw block) and lz4 (frame) from @platformatic/kafka. (librdkafka before
// 2.8 sends gzip, snappy and lz4 uncompressed to a broker without Produce v0-v2, as this one and
// Kafka 4 are, so kcat cannot make those.) Other bodies are built by
// test/helpers/compressed-batch.ts (zlib, snappyjs raw and xerial-framed, LZ4 frames of lz4js
// blocks, zstd raw-block frames).
//
// Refresh the fixtures (needs kcat and a built broker):
//   UPDATE_FIXTURES=1 npx tap test/storage/compression.test.ts
import t from 'tap';
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { Codec, decompressRecords, uncompressedLimit } from '../../src/shared/compression.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { xxh32 } from '../../src/shared/lz4-frame.js';
import { snappyDecompress } from '../../src/shared/snappy.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { BATCH_HEADER_SIZE, readVarint, readVarlong, validateBatches, type Cursor, type RecordInput } from '../../src/shared/record-batch.js';
import { eventually, run } from '../clients/harness.js';
import { WireClient } from '../clients/wire-client.js';
import { startBroker } from '../helpers/broker.js';
import { compress, compressedBatch, CODEC_ID, lz4Frame, type BodyCodec } from '../helpers/compressed-batch.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const CAPTURED: Array<[client: 'kcat' | 'platformatic', codec: 'gzip' | 'snappy' | 'lz4' | 'zstd']> = [
  ['platformatic', 'gzip'],
  ['platformatic', 'snappy'],
  ['platformatic', 'lz4'],
  ['kcat', 'zstd'],
];
const BODY_CODECS: BodyCodec[] = ['gzip', 'snappy', 'snappy-xerial', 'lz4', 'zstd'];
const LIMIT = uncompressedLimit(1_048_588);

function fixtureMessages(): string[] {
  return Array.from({ length: 40 }, (_, i) => `fixture message ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat((i % 5) + 1)}`);
}

/** The values of `count` records laid out from the start of `records`. */
function recordValues(records: Buffer, count: number): string[] {
  const out: string[] = [];
  const cur: Cursor = { pos: 0 };
  for (let i = 0; i < count; i++) {
    const len = readVarint(records, cur, records.length)!;
    const end = cur.pos + len;
    cur.pos += 1;
    readVarlong(records, cur, end);
    readVarint(records, cur, end);
    const keyLen = readVarint(records, cur, end)!;
    cur.pos += Math.max(0, keyLen);
    const valueLen = readVarint(records, cur, end)!;
    out.push(records.toString('utf8', cur.pos, cur.pos + valueLen));
    cur.pos = end;
  }
  return out;
}

function records(n: number, size = 100): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value ${i} `.repeat(size).slice(0, size)), timestampDelta: i }));
}

async function captureFixtures(): Promise<void> {
  const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
  const client = await WireClient.connect(broker.port);
  const producer = new Producer({ clientId: 'fixtures', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
  try {
    for (const [who, codec] of CAPTURED) {
      const topic = `fixture-${who}-${codec}`;
      await client.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
      });
      if (who === 'kcat') {
        const args = ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=200'];
        const produced = await run('kcat', args, { input: `${fixtureMessages().join('\n')}\n` });
        if (produced.code !== 0) throw new Error(`kcat -z ${codec}: ${produced.stderr}`);
      } else {
        await producer.send({ messages: fixtureMessages().map((value) => ({ topic, partition: 0, value })), compression: codec, acks: ProduceAcks.ALL });
      }
      let records: Buffer | null = null;
      await eventually(`${topic} to hold the batch`, async () => {
        const res = await client.request(ApiKey.Fetch, 12, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
          forgottenTopicsData: [], rackId: '',
        });
        records = res.responses[0].partitions[0].records;
        return records !== null && records.length > 0;
      });
      writeFileSync(new URL(`${who}-${codec}.hex`, FIXTURES), `${records!.toString('hex')}\n`);
    }
  } finally {
    await producer.close();
    client.close();
    broker.cleanup();
  }
}

if (process.env.UPDATE_FIXTURES) await captureFixtures();

t.test('xxHash32 known vectors', async (t) => {
  t.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
  t.equal(xxh32(Buffer.from('a')), 0x550d7456);
  t.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
  t.equal(xxh32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
});

t.test('batches real clients compressed with each codec validate and decompress to the messages sent', async (t) => {
  for (const [who, codec] of CAPTURED) {
    const set = Buffer.from(readFileSync(new URL(`${who}-${codec}.hex`, FIXTURES), 'utf8').trim(), 'hex');
    const v = validateBatches(set, LIMIT);
    t.equal(v.errorCode, ErrorCode.NONE, `${who} ${codec}: the record set validates (${v.errorMessage ?? 'ok'})`);
    const values: string[] = [];
    for (const b of v.batches) {
      t.equal(b.attributes & 7, CODEC_ID[codec], `${who} ${codec}: the batch at ${b.position} is compressed with ${codec}`);
      const body = decompressRecords(b.attributes & 7, set.subarray(b.position + BATCH_HEADER_SIZE, b.position + b.length), LIMIT);
      if (body.ok) values.push(...recordValues(body.records, b.recordCount));
    }
    t.same(values, fixtureMessages(), `${who} ${codec}: every message, in order`);
  }
});

t.test('each codec round-trips batches of one record, many records, and several blocks or chunks', async (t) => {
  for (const codec of BODY_CODECS) {
    for (const [n, size] of [[1, 10], [50, 1000], [300, 1000]] as const) {
      const batch = compressedBatch(codec, { records: records(n, size), firstTimestamp: 5000 });
      const v = validateBatches(batch, LIMIT);
      t.equal(v.errorCode, ErrorCode.NONE, `${codec}, ${n} records of ${size} bytes: valid (${v.errorMessage ?? 'ok'})`);
      const body = decompressRecords(CODEC_ID[codec], batch.subarray(BATCH_HEADER_SIZE), LIMIT);
      t.same(body.ok ? recordValues(body.records, n) : body, records(n, size).map((r) => r.value!.toString()), `${codec}, ${n} records: values back`);
    }
  }
  const checked = lz4Frame(Buffer.from('block checksums '.repeat(10_000)), { blockChecksum: true });
  t.same(decompressRecords(Codec.LZ4, checked, LIMIT), { ok: true, records: Buffer.from('block checksums '.repeat(10_000)) }, 'lz4 with block checksums');
});

t.test('an unknown codec is UNSUPPORTED_COMPRESSION_TYPE', async (t) => {
  for (const codecId of [5, 6, 7]) {
    const v = validateBatches(compressedBatch('gzip', { records: records(3), codecId }), LIMIT);
    t.equal(v.errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `codec ${codecId}`);
  }
});

t.test('a body that does not decompress is CORRUPT_MESSAGE', async (t) => {
  const garbage = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 151 + 7) & 0xff));
  for (const codec of BODY_CODECS) {
    const good = compress(codec, Buffer.from('some records that are not really records '.repeat(50)));
    const cases: Array<[string, Buffer]> = [
      ['garbage', garbage],
      ['empty', Buffer.alloc(0)],
      ['cut in half', good.subarray(0, good.length >> 1)],
      ['cut by one byte', good.subarray(0, good.length - 1)],
    ];
    for (const [what, body] of cases) {
      const v = validateBatches(compressedBatch(codec, { records: records(2), body }), LIMIT);
      t.equal(v.errorCode, ErrorCode.CORRUPT_MESSAGE, `${codec}, ${what}: ${v.errorMessage}`);
    }
  }
  const flipped = lz4Frame(Buffer.from('x'.repeat(1000)));
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
  t.equal(decompressRecords(Codec.LZ4, flipped, LIMIT).ok, false, 'lz4 content checksum mismatch');
  const badHeader = lz4Frame(Buffer.from('x'.repeat(1000)));
  badHeader[6] = badHeader[6]! ^ 1;
  t.equal(decompressRecords(Codec.LZ4, badHeader, LIMIT).ok, false, 'lz4 descriptor checksum mismatch');
  const dependent = lz4Frame(Buffer.from('x'.repeat(1000)));
  dependent[4] = 0x44;
  dependent[6] = (xxh32(dependent, 4, 6) >>> 8) & 0xff;
  t.equal(decompressRecords(Codec.LZ4, dependent, LIMIT).ok, false, 'lz4 frame with dependent blocks (Kafka refuses them)');
  const raw = compress('snappy', Buffer.from('abcd'.repeat(100)));
  raw[0] = 0xc7; // preamble claims 455 bytes, more than the elements hold
  raw[1] = 0x03;
  t.equal(decompressRecords(Codec.SNAPPY, raw, LIMIT).ok, false, 'snappy block shorter than its declared length');
  t.throws(() => snappyDecompress(Buffer.from([0x04, 0x01, 0x00]), 100), /offset/, 'snappy copy before the start of the block');
});

t.test('records that decompress but do not match the header are INVALID_RECORD', async (t) => {
  for (const codec of BODY_CODECS) {
    const lies: Array<[string, Parameters<typeof compressedBatch>[1]]> = [
      ['header counts one record more', { records: records(5), recordCount: 6 }],
      ['header counts one record fewer', { records: records(5), recordCount: 4 }],
      ['offset deltas 0,1,3,...', { records: records(5).map((r, i) => ({ ...r, offsetDelta: i < 2 ? i : i + 1 })) }],
      ['offset deltas out of order', { records: records(3).map((r, i) => ({ ...r, offsetDelta: 2 - i })) }],
      ['lastOffsetDelta disagrees with the count', { records: records(5), lastOffsetDelta: 7 }],
      ['trailing bytes after the last record', { records: records(5), trailing: Buffer.from([0, 0, 0]) }],
      ['a record length past the end', { records: records(1), trailing: Buffer.from([0x7e]) }],
    ];
    for (const [what, opts] of lies) {
      const v = validateBatches(compressedBatch(codec, opts), LIMIT);
      t.equal(v.errorCode, ErrorCode.INVALID_RECORD, `${codec}, ${what}: ${v.errorMessage}`);
    }
  }
});

t.test('a body that would expand past the bound is refused before it is inflated', async (t) => {
  const bound = 1 << 20;
  const zeros = Buffer.alloc(16 << 20);
  const gzipBomb = gzipSync(zeros);
  // 1,024 RLE blocks of 128 KiB: a 4 KiB frame, 128 MiB of content; no content size declared.
  const rle = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3])];
  for (let i = 0; i < 1024; i++) {
    const h = ((128 * 1024) << 3) | (1 << 1) | (i === 1023 ? 1 : 0);
    rle.push(Buffer.from([h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, 0]));
  }
  const snappyClaim = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]); // 4 GiB declared, one literal byte
  const cases: Array<[string, number, Buffer]> = [
    [`gzip of 16 MiB of zeros (${gzipBomb.length} bytes)`, Codec.GZIP, gzipBomb],
    [`zstd of 128 MiB in RLE blocks (${Buffer.concat(rle).length} bytes)`, Codec.ZSTD, Buffer.concat(rle)],
    ['snappy declaring 4 GiB', Codec.SNAPPY, snappyClaim],
    ['lz4 of 16 MiB of zeros', Codec.LZ4, lz4Frame(zeros)],
  ];
  for (const [what, codec, body] of cases) {
    const started = process.hrtime.bigint();
    const r = decompressRecords(codec, body, bound);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.match(r, { ok: false, errorCode: ErrorCode.MESSAGE_TOO_LARGE }, `${what}: MESSAGE_TOO_LARGE`);
    t.comment(`${what}: refused in ${ms.toFixed(1)} ms`);
  }
  const fits = decompressRecords(Codec.GZIP, gzipSync(Buffer.alloc(bound)), bound);
  t.equal(fits.ok && fits.records.length, bound, 'a body of exactly the bound is accepted');
});

t.test('without a bound (replicated or recovered data) compressed records are not opened', async (t) => {
  const v = validateBatches(compressedBatch('zstd', { records: records(2), body: Buffer.from('not zstd at all') }));
  t.equal(v.errorCode, ErrorCode.NONE, 'header and CRC are enough');
  t.equal(validateBatches(compressedBatch('zstd', { records: records(2), codecId: 7 })).errorCode, ErrorCode.NONE, 'the codec is not looked at');
});

t.test('mutated bodies never throw: each gets ok or a Kafka error code', async (t) => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const counts = new Map<string, number>();
  const sample = Buffer.from(Array.from({ length: 3000 }, (_, i) => `${i % 17} fuzz body `).join(''));
  for (const codec of BODY_CODECS) {
    const good = compress(codec, sample);
    for (let i = 0; i < 400; i++) {
      const body = Buffer.from(good.subarray(0, rand(4) === 0 ? rand(good.length + 1) : good.length));
      for (let flips = rand(4) + 1; flips > 0 && body.length > 0; flips--) {
        const at = rand(body.length);
        body[at] = body[at]! ^ (1 << rand(8));
      }
      let outcome: string;
      try {
        const r = decompressRecords(CODEC_ID[codec], body, 64 * 1024);
        outcome = r.ok ? 'ok' : String(r.errorCode);
      } catch (err) {
        outcome = `threw ${String(err)}`;
      }
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
  }
  t.comment(`outcomes: ${[...counts].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const allowed = ['ok', String(ErrorCode.CORRUPT_MESSAGE), String(ErrorCode.MESSAGE_TOO_LARGE)];
  t.same([...counts.keys()].filter((k) => !allowed.includes(k)), [], 'no throw, no other code');
});
