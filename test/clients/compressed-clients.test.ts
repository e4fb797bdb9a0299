// Real clients' compressed produce is still accepted now that the leader decompresses and
// checks every batch: kcat (librdkafka) with `-z gzip|snappy|lz4|zstd`, and @platformatic/kafka
// with gzip, snappy and lz4, each producing 2,000 messages that kcat then consumes back from
// offset 0, byte for byte. The codec the stored batches carry is read from a raw fetch: zstd
// from kcat, gzip, snappy and lz4 from @platformatic/kafka must really be compressed. (librdkafka
// before 2.8 sends gzip, snappy and lz4 uncompressed to a broker that, like Kafka 4, has no
// Produce v0-v2; its runs with those codecs still check the round trip.)
import t from 'tap';
import { Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { validateBatches } from '../../src/shared/record-batch.js';
import { hasCommand, startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually, run, type RunResult } from './harness.js';
import { WireClient } from './wire-client.js';

const COUNT = 2000;
const CODEC_ID = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
type CodecName = keyof typeof CODEC_ID;

function messages(tag: string): string[] {
  return Array.from({ length: COUNT }, (_, i) => `${tag} ${i} ${'compressible text '.repeat(i % 13)}`);
}

/** The codec ids of the batches stored in partition 0 of `topic`, once all COUNT records are readable. */
async function storedCodecs(client: WireClient, topic: string): Promise<Set<number>> {
  let codecs = new Set<number>();
  await eventually(`${COUNT} records readable in ${topic}`, async () => {
    const res = await client.request(ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 64 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const batches = validateBatches(res.responses[0].partitions[0].records ?? Buffer.alloc(0)).batches;
    codecs = new Set(batches.map((b) => b.attributes & 7));
    return batches.reduce((n, b) => n + b.recordCount, 0) === COUNT;
  });
  return codecs;
}

if (!hasCommand('kcat')) {
  t.plan(1);
  t.pass('kcat not installed: skipping the compressed client round trips (CI installs it)');
} else {
  t.test('compressed produce from real clients is accepted and reads back', async (t) => {
    const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
    brokerTeardown(t, broker);
    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    const why = (r: RunResult) => (r.code === 0 ? '' : `: exit ${r.code}, ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    const consume = (topic: string) =>
      run('kcat', ['-b', broker.bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { timeoutMs: 60_000 });

    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      await t.test(`kcat -z ${codec}`, async (t) => {
        const topic = `kcat-${codec}`;
        const sent = messages(topic);
        const started = Date.now();
        const produced = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=20'], {
          input: `${sent.join('\n')}\n`,
          timeoutMs: 60_000,
        });
        t.equal(produced.code, 0, `kcat -P -z ${codec} exits 0${why(produced)}`);
        t.equal(produced.stderr.trim(), '', 'without reporting a delivery error');
        const codecs = await storedCodecs(client, topic);
        if (codec === 'zstd') t.same([...codecs], [CODEC_ID.zstd], `the batches are stored zstd-compressed (codecs ${[...codecs].join(', ')})`);
        else t.comment(`codecs stored: ${[...codecs].join(', ')} (librdkafka 2.0.2 compresses only zstd here)`);
        const read = await consume(topic);
        t.equal(read.code, 0, `kcat -C exits 0${why(read)}`);
        t.same(read.stdout.toString().split('\n').slice(0, -1), sent, `all ${COUNT} messages back, in order`);
        t.comment(`${codec}: produced and consumed ${COUNT} messages in ${Date.now() - started} ms`);
      });
    }

    const producer = new Producer({ clientId: 'compressed', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
    t.teardown(() => producer.close());
    for (const codec of ['gzip', 'snappy', 'lz4'] as const satisfies readonly CodecName[]) {
      await t.test(`@platformatic/kafka with ${codec}, read back by kcat`, async (t) => {
        const topic = `platformatic-${codec}`;
        await client.request(ApiKey.CreateTopics, 5, {
          topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
          timeoutMs: 5000,
        });
        const sent = messages(topic);
        for (let at = 0; at < COUNT; at += 200) {
          await producer.send({ messages: sent.slice(at, at + 200).map((value) => ({ topic, partition: 0, value })), compression: codec, acks: ProduceAcks.ALL });
        }
        t.same([...(await storedCodecs(client, topic))], [CODEC_ID[codec]], `the batches are stored ${codec}-compressed`);
        const read = await consume(topic);
        t.equal(read.code, 0, `kcat -C exits 0${why(read)}`);
        t.same(read.stdout.toString().split('\n').slice(0, -1), sent, `all ${COUNT} messages back, in order`);
      });
    }
  });
}
