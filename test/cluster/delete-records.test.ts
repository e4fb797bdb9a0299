// DeleteRecords on a three-broker cluster: kafkajs deletes the records of a replicated
// partition below an offset; the earliest offset follows, a fetch below it is out of range,
// the segments wholly below it are gone and the log-start-offset checkpoint holds it on every
// replica. Offsets past the high watermark are refused; -1 deletes up to it. A replica that
// was down while records were deleted up to an offset inside a batch starts over there and
// comes back in sync.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { eventually } from '../clients/harness.js';
import { metadata, startCluster, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'trimmed';
let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster();
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

/** The log start offset a broker's checkpoint file holds for partition 0, or -1. */
function checkpointed(dataDir: string): number {
  const file = path.join(dataDir, 'log-start-offset-checkpoint');
  if (!existsSync(file)) return -1;
  const lines = readFileSync(file, 'utf8').split('\n');
  const entry = lines.map((l) => l.split(' ')).find((f) => f[0] === TOPIC && f[1] === '0');
  return entry ? Number(entry[2]) : -1;
}

/** Base offsets of the partition's segment files on a broker. */
function segmentBases(dataDir: string): number[] {
  return readdirSync(path.join(dataDir, `${TOPIC}-0`)).filter((f) => f.endsWith('.log')).map((f) => Number(f.slice(0, -4))).sort((a, b) => a - b);
}

t.test('kafkajs deletes records on every replica', async (t) => {
  const kafka = new Kafka({ clientId: 'delete-records', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: '1024' }] }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 20; i++) await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(300, i) }] });

  // kafkajs looks the leader up in the topic metadata its admin client already holds.
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '15' }] });
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  t.same([offsets[0]!.low, offsets[0]!.high], ['15', '20'], 'the earliest offset is 15, the end stays');

  const leader = cluster.broker(md.topics[0]!.partitions[0]!.leader);
  const wire = await WireClient.connect(leader.port);
  t.teardown(() => wire.close());
  await t.rejects(readPartition(wire, TOPIC, 0, 3), { message: new RegExp(`error ${ErrorCode.OFFSET_OUT_OF_RANGE}$`) }, 'a fetch below the log start is out of range');
  const kept = await readPartition(wire, TOPIC, 0, 15);
  t.same(kept.records.map((r) => r.offset), [15, 16, 17, 18, 19], 'the records from 15 on are all there');

  for (const b of cluster.brokers) {
    await eventually(`broker ${b.nodeId} to checkpoint log start 15`, () => checkpointed(b.dataDir) === 15);
    const bases = segmentBases(b.dataDir);
    t.ok(bases[0]! > 0 && bases[0]! <= 15 && (bases[1] === undefined || bases[1] > 15), `broker ${b.nodeId} keeps only the segment holding 15 and later ones (${bases.join(',')})`);
  }

  const beyond = await wire.request(ApiKey.DeleteRecords, 2, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 21 }] }], timeoutMs: 5000 });
  t.equal(beyond.topics[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the high watermark is refused');
  const all = await wire.request(ApiKey.DeleteRecords, 2, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: -1 }] }], timeoutMs: 5000 });
  t.same(all.topics[0].partitions[0], { partitionIndex: 0, lowWatermark: 20, errorCode: ErrorCode.NONE }, '-1 deletes up to the high watermark');
  const follower = cluster.brokers.find((b) => b !== leader)!;
  const fromFollower = await WireClient.connect(follower.port);
  t.teardown(() => fromFollower.close());
  const refused = await fromFollower.request(ApiKey.DeleteRecords, 0, { topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, offset: 20 }] }], timeoutMs: 5000 });
  t.equal(refused.topics[0].partitions[0].errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'a follower sends the client to the leader');
});

t.test('a replica that starts over at a log start inside a batch comes back in sync', async (t) => {
  const topic = 'trimmed-mid-batch';
  const kafka = new Kafka({ clientId: 'delete-records-mid-batch', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
  const isrOf = async (): Promise<number[]> => (await metadata(cluster.running()[0]!.port, [topic])).topics[0]!.partitions[0]!.isrNodes;
  await eventually('every replica in sync', async () => (await isrOf()).length === 3);
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  const follower = cluster.brokers.find((b) => b.nodeId !== md.topics[0]!.partitions[0]!.leader)!;
  await follower.stop();
  await eventually(`broker ${follower.nodeId} out of the ISR`, async () => !(await isrOf()).includes(follower.nodeId), 20_000);

  // Ten records in one batch (offsets 0 to 9), deleted below 5: the leader's log starts mid-batch.
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}` })) });
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '5' }] });

  await follower.restart();
  await eventually(`broker ${follower.nodeId} back in the ISR`, async () => (await isrOf()).includes(follower.nodeId), 20_000);
  t.pass(`broker ${follower.nodeId} fetched the batch holding the log start and is in sync again`);
  await eventually(`broker ${follower.nodeId} to checkpoint log start 5`, () => {
    const file = path.join(follower.dataDir, 'log-start-offset-checkpoint');
    return existsSync(file) && readFileSync(file, 'utf8').split('\n').some((l) => l === `${topic} 0 5`);
  });
  t.pass('its log starts at 5, as the leader\'s does');
});
