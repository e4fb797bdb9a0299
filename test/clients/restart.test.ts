// Durability across restarts of a real broker process. SIGTERM: the broker exits 0 within a
// few seconds and the next start on the same data dir serves every acknowledged record.
// SIGKILL: acks=all produces are in flight when the process dies; after a restart every
// record that was acknowledged is there at its acknowledged offset, and the log continues
// after it without holes.
import t from 'tap';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { startBroker, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { readPartition, WireClient } from './wire-client.js';

async function createTopic(broker: BrokerProcess, name: string, partitions: number): Promise<number> {
  const client = await WireClient.connect(broker.port);
  try {
    const res = await client.request(ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
    });
    return res.topics[0].errorCode;
  } finally {
    client.close();
  }
}

/**
 * Right after a start the partitions may not be led yet (NOT_LEADER_OR_FOLLOWER, which
 * clients retry after a metadata refresh): wait until every partition can be read.
 */
async function waitReadable(client: WireClient, topic: string, partitions: number): Promise<void> {
  await eventually(`${topic} to be readable after the restart`, async () => {
    for (let p = 0; p < partitions; p++) {
      try {
        await readPartition(client, topic, p);
      } catch {
        return false;
      }
    }
    return true;
  });
}

t.test('SIGTERM: clean exit, then everything acknowledged is served again', async (t) => {
  const broker = await startBroker();
  brokerTeardown(t, broker);
  t.equal(await createTopic(broker, 'durable', 2), ErrorCode.NONE, 'topic created');
  const kafka = new Kafka({ clientId: 'restart-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const expected: string[][] = [[], []];
  for (let batch = 0; batch < 20; batch++) {
    const messages = Array.from({ length: 50 }, (_, i) => {
      const n = batch * 50 + i;
      const value = `durable-${n}-${'v'.repeat(n % 64)}`;
      expected[n % 2]!.push(value);
      return { partition: n % 2, value };
    });
    await producer.send({ topic: 'durable', acks: -1, messages });
  }
  await producer.disconnect();

  const started = Date.now();
  const code = await broker.stop(15_000);
  const took = Date.now() - started;
  t.equal(code, 0, 'SIGTERM: the broker exits with code 0');
  t.ok(took < 5000, `and within a few seconds (${took} ms)`);

  await broker.restart();
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  await waitReadable(client, 'durable', 2);
  for (let p = 0; p < 2; p++) {
    const { records, highWatermark } = await readPartition(client, 'durable', p);
    t.equal(highWatermark, expected[p]!.length, `partition ${p}: high watermark survives the restart`);
    t.same(records.map((r) => r.value?.toString()), expected[p], `partition ${p}: every acknowledged record read back`);
  }
  const res = await client.request(ApiKey.Produce, 9, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'durable', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: Buffer.from('after-restart') }] }) }] }],
  });
  const pr = res.responses[0].partitionResponses[0];
  t.equal(pr.errorCode, ErrorCode.NONE, 'a produce after the restart succeeds');
  t.equal(pr.baseOffset, expected[0]!.length, 'at the next offset after the recovered log');
});

interface Acked {
  partition: number;
  baseOffset: number;
  values: string[];
}

t.test('SIGKILL with acks=all produces in flight: nothing acknowledged is lost', async (t) => {
  const broker = await startBroker();
  brokerTeardown(t, broker);
  const partitions = 3;
  t.equal(await createTopic(broker, 'crash', partitions), ErrorCode.NONE, 'topic created');

  const client = await WireClient.connect(broker.port);
  const acked: Acked[] = [];
  let sent = 0;
  let stopped = false;
  // Several pipelined requests per partition keep group commits overlapping the kill.
  const loops = Array.from({ length: partitions * 2 }, async (_, loop) => {
    const partition = loop % partitions;
    while (!stopped) {
      const n = sent++;
      const values = Array.from({ length: 10 }, (_, i) => `crash-${n}-${i}-${'z'.repeat((n * 7 + i) % 200)}`);
      const records = buildRecordBatch({ records: values.map((v) => ({ value: Buffer.from(v) })) });
      try {
        const res = await client.request(ApiKey.Produce, 9, {
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: 'crash', partitionData: [{ index: partition, records }] }],
        });
        const pr = res.responses[0].partitionResponses[0];
        if (pr.errorCode === ErrorCode.NONE) acked.push({ partition, baseOffset: pr.baseOffset, values });
      } catch {
        return;
      }
    }
  });
  await eventually('produces acknowledged while more are in flight', () => acked.length >= 100, 30_000);
  await broker.kill('SIGKILL');
  stopped = true;
  await Promise.all(loops);
  client.close();
  t.ok(acked.length > 20, `produces were acknowledged before the kill (${acked.length} of ${sent} sent)`);

  await broker.restart();
  const reader = await WireClient.connect(broker.port);
  t.teardown(() => reader.close());
  await waitReadable(reader, 'crash', partitions);
  for (let p = 0; p < partitions; p++) {
    const { records, highWatermark } = await readPartition(reader, 'crash', p);
    const mine = acked.filter((a) => a.partition === p);
    const ackedEnd = Math.max(0, ...mine.map((a) => a.baseOffset + a.values.length));
    t.ok(highWatermark >= ackedEnd, `partition ${p}: high watermark ${highWatermark} covers every acknowledged offset (< ${ackedEnd})`);
    t.same(records.map((r) => r.offset), records.map((_, i) => i), `partition ${p}: recovered offsets contiguous from 0`);
    const byOffset = new Map(records.map((r) => [r.offset, r.value?.toString()]));
    const lost = mine.flatMap((a) => a.values.map((v, i) => ({ offset: a.baseOffset + i, v }))).filter((x) => byOffset.get(x.offset) !== x.v);
    t.same(lost.slice(0, 5), [], `partition ${p}: all ${mine.length} acknowledged batches there, byte for byte`);
  }
});
