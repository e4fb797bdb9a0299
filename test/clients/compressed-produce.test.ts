// Compressed batches whose codec or body lies, sent as raw Produce frames to a real broker
// process. Kafka's leader decompresses every batch before storing it; so must this one, or
// the batch is stored and every consumer stops at its offset for good. Each bad batch must get
// its error code and leave the log as it was: an unknown codec (5, 6, 7) is
// UNSUPPORTED_COMPRESSION_TYPE, a body that does not decompress (garbage with a correct CRC,
// a body cut short) CORRUPT_MESSAGE, and records that decompress but disagree with the header
// (count, offset deltas, trailing bytes) INVALID_RECORD. Valid batches of every codec, sent in
// between, are accepted; at the end the log holds exactly them, and kcat reads them all back
// from offset 0.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { validateBatches } from '../../src/shared/record-batch.js';
import { hasCommand, startBroker } from '../helpers/broker.js';
import { compress, compressedBatch, CODEC_ID, type BodyCodec, type CompressedBatchOptions } from '../helpers/compressed-batch.js';
import { brokerTeardown, run } from './harness.js';
import { WireClient } from './wire-client.js';

const TOPIC = 'compressed';
const CODECS: BodyCodec[] = ['gzip', 'snappy', 'snappy-xerial', 'lz4', 'zstd'];

function values(codec: BodyCodec, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${codec} value ${i} ${'padding '.repeat(i % 7)}`);
}

function batch(codec: BodyCodec, n: number, lie: Omit<CompressedBatchOptions, 'records'> = {}): Buffer {
  return compressedBatch(codec, { records: values(codec, n).map((v) => ({ value: Buffer.from(v) })), ...lie });
}

async function fetchFromZero(client: WireClient): Promise<{ records: Buffer; highWatermark: number }> {
  const res = await client.request(ApiKey.Fetch, 12, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 8 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 8 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  const p = res.responses[0].partitions[0];
  return { records: p.records ?? Buffer.alloc(0), highWatermark: Number(p.highWatermark) };
}

t.test('compressed batches that lie are refused and leave nothing in the log', async (t) => {
  const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const created = await client.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  t.equal(created.topics[0].errorCode, ErrorCode.NONE, 'topic created');

  let version = 3;
  const produce = async (records: Buffer): Promise<number> => {
    version = version === 11 ? 3 : version + 1;
    const res = await client.request(ApiKey.Produce, version, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
    });
    return res.responses[0].partitionResponses[0].errorCode;
  };

  const accepted: string[] = [];
  const acceptedCodecs: number[] = [];
  const expectRefused = async (what: string, records: Buffer, code: number): Promise<void> => {
    const before = (await fetchFromZero(client)).highWatermark;
    t.equal(await produce(records), code, `${what}: error ${code}`);
    t.equal((await fetchFromZero(client)).highWatermark, before, `${what}: nothing appended`);
  };

  for (const codec of CODECS) {
    t.equal(await produce(batch(codec, 5)), ErrorCode.NONE, `${codec}: a valid batch is accepted`);
    accepted.push(...values(codec, 5));
    acceptedCodecs.push(CODEC_ID[codec]);

    const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + codec.length) & 0xff));
    await expectRefused(`${codec} attribute over garbage`, batch(codec, 5, { body: garbage }), ErrorCode.CORRUPT_MESSAGE);
    const good = compress(codec, Buffer.from('records section '.repeat(40)));
    await expectRefused(`${codec} body cut short`, batch(codec, 5, { body: good.subarray(0, good.length - 3) }), ErrorCode.CORRUPT_MESSAGE);
    await expectRefused(`${codec}: header counts 6, body holds 5`, batch(codec, 5, { recordCount: 6 }), ErrorCode.INVALID_RECORD);
    await expectRefused(`${codec}: header counts 4, body holds 5`, batch(codec, 5, { recordCount: 4 }), ErrorCode.INVALID_RECORD);
    const skipping = compressedBatch(codec, { records: values(codec, 5).map((v, i) => ({ value: Buffer.from(v), offsetDelta: i < 3 ? i : i + 1 })) });
    await expectRefused(`${codec}: offset deltas 0,1,2,4,5`, skipping, ErrorCode.INVALID_RECORD);
    await expectRefused(`${codec}: bytes after the last record`, batch(codec, 5, { trailing: Buffer.from([1, 2]) }), ErrorCode.INVALID_RECORD);
  }
  for (const codecId of [5, 6, 7]) {
    await expectRefused(`codec ${codecId}`, batch('gzip', 3, { codecId }), ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  }

  const log = await fetchFromZero(client);
  t.equal(log.highWatermark, accepted.length, `the log holds the ${accepted.length} records of the valid batches`);
  const stored = validateBatches(log.records);
  t.same(stored.batches.map((b) => b.attributes & 7), acceptedCodecs, 'a fetch from offset 0 returns the valid batches and nothing else');

  if (hasCommand('kcat')) {
    const read = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', TOPIC, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { timeoutMs: 30_000 });
    t.same(read.stdout.toString().split('\n').slice(0, -1), accepted, `kcat reads every valid record from offset 0 (exit ${read.code})`);
  } else {
    t.pass('kcat not installed: the read-back through librdkafka is skipped (CI installs it)');
  }
});
