// Partition reassignment on a three-broker cluster under load: a partition on brokers 1 and 2,
// its first records deleted, moves to brokers 2 and 3 while a producer keeps writing with
// acks=all. ListPartitionReassignments shows the move until broker 3 has caught up (starting
// at the leader's log start), then the partition lives on 2 and 3 only (broker 1 deletes its
// copy), and every acknowledged record is there, in order, on both.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { call, metadata, startCluster, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'moved';
let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster({ 'auto.leader.rebalance.enable': 'false' });
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

function listReassignments(port: number) {
  return call<any>(port, ApiKey.ListPartitionReassignments, 0, { timeoutMs: 5000, topics: null });
}

t.test('a partition moves to another broker without losing an acknowledged write', async (t) => {
  const kafka = new Kafka({ clientId: 'reassign', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const acked: string[] = [];
  for (let i = 0; i < 50; i++) {
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `v${i}` }] });
    acked.push(`v${i}`);
  }
  await admin.fetchTopicMetadata({ topics: [TOPIC] });
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '20' }] });

  let writing = true;
  const load = (async () => {
    for (let i = 50; writing; i++) {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `v${i}` }] });
      acked.push(`v${i}`);
    }
  })();

  const port = cluster.broker(2).port;
  const res = await call<any>(port, ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [3, 2] }] }] });
  t.same(res.responses, [{ name: TOPIC, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }]);
  const listed = await listReassignments(port);
  if (listed.topics.length > 0) {
    t.same(listed.topics[0].partitions[0], { partitionIndex: 0, replicas: [3, 2, 1], addingReplicas: [3], removingReplicas: [1] }, 'the move is listed while broker 3 catches up');
  } else {
    t.pass('broker 3 caught up before the listing');
  }
  const done = await waitFor('the reassignment to finish', 30_000, async () => {
    const md = await metadata(port, [TOPIC]);
    const p = md.topics[0]!.partitions[0]!;
    return p.replicaNodes.length === 2 && p.replicaNodes.includes(3) ? p : undefined;
  });
  writing = false;
  await load;
  t.same([[...done.replicaNodes].sort(), [...done.isrNodes].sort()], [[2, 3], [2, 3]], 'the partition lives on brokers 2 and 3');
  t.same((await listReassignments(port)).topics, [], 'nothing is listed once it finished');
  await waitFor('broker 1 to delete its copy', 15_000, async () => (existsSync(path.join(cluster.broker(1).dataDir, `${TOPIC}-0`)) ? undefined : true));
  t.pass('broker 1, no longer a replica, deleted its log');
  t.ok(acked.length > 50, `the producer kept writing during the move (${acked.length} records acknowledged)`);

  // Broker 1 led and left: leadership went to broker 3, the first target replica. Every
  // acknowledged record from the log start on is read from it; then a reordering (already in
  // sync: it finishes at once) and a preferred election make broker 2 lead, and it is read there.
  const expected = acked.slice(20);
  const readFrom = async (id: number) => {
    const wire = await WireClient.connect(cluster.broker(id).port);
    t.teardown(() => wire.close());
    return (await readPartition(wire, TOPIC, 0, 20)).records.map((r) => r.value?.toString());
  };
  t.equal(done.leaderId, 3, 'the removed leader handed over to broker 3');
  t.same(await readFrom(3), expected, 'broker 3 holds every acknowledged record');
  const reorder = await call<any>(port, ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [2, 3] }] }] });
  t.equal(reorder.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  t.same((await listReassignments(port)).topics, [], 'a reordering of in-sync replicas finishes at once');
  const elected = await call<any>(port, ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 10_000 });
  t.equal(elected.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.NONE, 'broker 2, the preferred replica now, takes over');
  const read = await waitFor('broker 2 to serve the partition', 15_000, () => readFrom(2));
  t.same(read, expected, 'broker 2 holds every acknowledged record');
});
