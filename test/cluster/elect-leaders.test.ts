// ElectLeaders and DescribeLogDirs on a three-broker cluster, over the wire. Leadership of a
// partition moves off its preferred replica when that broker stops; once it is back in the
// ISR a preferred election returns leadership to it without losing a record, and asking again
// needs nothing. DescribeLogDirs reports the partition's bytes on every replica.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { call, metadata, startCluster, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'elected';
let cluster: Cluster;

t.before(async () => {
  // Leadership must stay where it is until asked to move.
  cluster = await startCluster({ 'auto.leader.rebalance.enable': 'false' });
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

async function partition0(port: number) {
  const md = await metadata(port, [TOPIC]);
  return md.topics[0]!.partitions.find((p) => p.partitionIndex === 0)!;
}

function elect(port: number, electionType: number) {
  return call<any>(port, ApiKey.ElectLeaders, 2, { electionType, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 10_000 });
}

t.test('preferred election returns leadership to the first replica', async (t) => {
  const kafka = new Kafka({ clientId: 'elect', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 5; i++) await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `before-${i}` }] });

  const one = cluster.broker(1);
  t.equal(await one.stop(), 0, 'broker 1 stops cleanly');
  const moved = await waitFor('another leader', 15_000, async () => {
    const p = await partition0(cluster.broker(2).port);
    return p.leaderId > 1 ? p : undefined;
  });
  for (let i = 0; i < 5; i++) await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `during-${i}` }] });
  await one.restart();
  await waitFor('broker 1 back in the ISR', 30_000, async () => ((await partition0(cluster.broker(2).port)).isrNodes.includes(1) ? true : undefined));
  t.equal((await partition0(cluster.broker(2).port)).leaderId, moved.leaderId, 'leadership stays off broker 1 until asked');

  const res = await elect(cluster.broker(2).port, 0);
  t.same(res.replicaElectionResults, [{ topic: TOPIC, partitionResult: [{ partitionId: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }]);
  const now = await partition0(cluster.broker(2).port);
  t.same([now.leaderId, now.leaderEpoch > moved.leaderEpoch], [1, true], 'broker 1 leads in a new epoch');

  const wire = await WireClient.connect(one.port);
  t.teardown(() => wire.close());
  const read = await waitFor('broker 1 to serve the partition', 15_000, () => readPartition(wire, TOPIC, 0).catch(() => undefined));
  t.same(read.records.map((r) => r.value?.toString()), [0, 1, 2, 3, 4].map((i) => `before-${i}`).concat([0, 1, 2, 3, 4].map((i) => `during-${i}`)), 'every acknowledged record is on the new leader');

  const again = await elect(one.port, 0);
  t.equal(again.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED, 'asking again needs nothing');
  const unclean = await elect(one.port, 1);
  t.equal(unclean.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED, 'no unclean election for a partition with a leader');
  const unknown = await call<any>(one.port, ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'nope', partitions: [0] }], timeoutMs: 10_000 });
  t.equal(unknown.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});

t.test('DescribeLogDirs reports the partition on every replica', async (t) => {
  const sizes = await waitFor('every replica to hold the same bytes', 15_000, async () => {
    const all = await Promise.all(cluster.brokers.map((b) => call<any>(b.port, ApiKey.DescribeLogDirs, 4, { topics: [{ topic: TOPIC, partitions: [0] }] })));
    const s = all.map((r) => r.results[0].topics.find((x: any) => x.name === TOPIC)?.partitions[0]?.partitionSize ?? -1);
    return s.every((x) => x > 0 && x === s[0]) ? all : undefined;
  });
  for (const r of sizes) {
    const dir = r.results[0];
    t.equal(dir.errorCode, ErrorCode.NONE);
    t.ok(dir.totalBytes > 0 && dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes, 'the disk\'s capacity is reported');
    t.same(dir.topics.map((x: any) => x.name), [TOPIC], 'only the partitions asked about');
  }
});
