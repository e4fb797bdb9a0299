// kafkajs against a real broker process: admin topic lifecycle, produce with acks 0, 1 and
// -1 and with gzip, then everything read back partition by partition.
//
// kafkajs has no consumer without a group, and the broker has no group APIs yet, so the
// read-back uses the project's own codecs over a raw socket (wire-client.ts): Fetch by
// partition and offset, batches parsed and gunzipped there.
import t from 'tap';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { readPartition, WireClient } from './wire-client.js';

const TOPIC = 'kafkajs-data';
const PARTITIONS = 3;

t.test('kafkajs admin, produce and read back', async (t) => {
  const broker: BrokerProcess = await startBroker({ overrides: { 'num.partitions': 1 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'kafkajs-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());

  await t.test('create and delete topics', async (t) => {
    const created = await admin.createTopics({
      topics: [
        { topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 },
        { topic: 'kafkajs-doomed', numPartitions: 2, replicationFactor: 1 },
      ],
      waitForLeaders: true,
    });
    t.equal(created, true, 'createTopics reports both topics created');
    const listed = await admin.listTopics();
    t.ok(listed.includes(TOPIC) && listed.includes('kafkajs-doomed'), 'listTopics shows both');
    const again = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    t.equal(again, false, 'creating an existing topic creates nothing');

    await admin.deleteTopics({ topics: ['kafkajs-doomed'] });
    await eventually('the deleted topic to leave listTopics', async () => !(await admin.listTopics()).includes('kafkajs-doomed'));
    const after = await admin.listTopics();
    t.ok(after.includes(TOPIC) && !after.includes('kafkajs-doomed'), 'listTopics drops the deleted topic only');
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    t.equal(md.topics[0]!.partitions.length, PARTITIONS, 'metadata has every partition');
  });

  await t.test('produce with acks 0, 1, -1 and gzip; read everything back', async (t) => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const expected: string[][] = Array.from({ length: PARTITIONS }, () => []);
    const rounds: Array<{ name: string; acks: number; compression?: CompressionTypes; messages: number; size: number }> = [
      { name: 'acks1', acks: 1, messages: 300, size: 40 },
      { name: 'acksall', acks: -1, messages: 300, size: 100 },
      { name: 'gzip', acks: -1, compression: CompressionTypes.GZIP, messages: 500, size: 300 },
      { name: 'acks0', acks: 0, messages: 200, size: 20 },
      { name: 'big', acks: -1, messages: 20, size: 100_000 },
    ];
    for (const round of rounds) {
      for (let batch = 0; batch < 4; batch++) {
        const messages = [];
        for (let i = batch; i < round.messages; i += 4) {
          const partition = i % PARTITIONS;
          const value = `${round.name}-${i}-`.padEnd(round.size, String.fromCharCode(97 + (i % 26)));
          messages.push({ partition, key: `k${i}`, value });
          expected[partition]!.push(value);
        }
        const res = await producer.send({ topic: TOPIC, acks: round.acks, compression: round.compression, messages });
        if (round.acks !== 0) {
          t.ok(res.every((r) => r.errorCode === 0), `${round.name} batch ${batch} acknowledged without error`);
        }
      }
    }

    const client = await WireClient.connect(broker.port);
    t.teardown(() => client.close());
    // acks=0 has no acknowledgement to wait for: wait until the logs hold every record.
    await eventually('the acks=0 records to land', async () => {
      for (let p = 0; p < PARTITIONS; p++) {
        if ((await readPartition(client, TOPIC, p)).highWatermark < expected[p]!.length) return false;
      }
      return true;
    });
    for (let p = 0; p < PARTITIONS; p++) {
      const { records, highWatermark } = await readPartition(client, TOPIC, p);
      t.equal(highWatermark, expected[p]!.length, `partition ${p}: high watermark is the record count`);
      t.same(records.map((r) => r.offset), expected[p]!.map((_, i) => i), `partition ${p}: offsets contiguous from 0`);
      const values = records.map((r) => r.value?.toString() ?? null);
      const mismatch = values.findIndex((v, i) => v !== expected[p]![i]);
      t.equal(mismatch, -1, `partition ${p}: every value read back equal and in order`);
    }

    const offsets = await admin.fetchTopicOffsets(TOPIC);
    t.same(
      offsets.sort((a, b) => a.partition - b.partition).map((o) => ({ partition: o.partition, high: o.high, low: o.low })),
      expected.map((e, p) => ({ partition: p, high: String(e.length), low: '0' })),
      'fetchTopicOffsets gives each partition its high watermark',
    );
    const fromMiddle = await readPartition(client, TOPIC, 1, 100);
    t.equal(fromMiddle.records[0]?.offset, 100, 'a fetch from offset 100 starts at 100');
    t.equal(fromMiddle.records[0]?.value?.toString(), expected[1]![100], 'and holds that record');
  });
});
