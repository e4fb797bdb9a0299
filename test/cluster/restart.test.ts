// The whole cluster stopped and started again on the same data dirs. SIGTERM to all three at
// once: each exits 0. On the next start every broker serves the metadata it had: the cluster
// id, the three brokers, every topic with the same id, partitions, replicas and leaders, and
// a deleted topic stays deleted; records produced before the stop are read back. Nothing of
// the metadata lives only in memory.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import type { MetadataResponse } from '../../src/shared/protocol/generated/metadata-response.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import {
  agreedController, createTopics, kcatMetadata, metadata, produceOne, startCluster, topicOn, waitFor,
  type Cluster,
} from './fixtures/cluster.js';

let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster();
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

const TOPICS = ['kept-a', 'kept-b', 'kept-c'];

/** What must survive a restart, in a form that compares across brokers and starts. */
function durableView(md: MetadataResponse): object {
  return {
    clusterId: md.clusterId,
    brokers: md.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort(),
    topics: md.topics
      .filter((x) => x.errorCode === ErrorCode.NONE)
      .map((x) => ({
        name: x.name,
        topicId: x.topicId,
        partitions: [...x.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => ({ leader: p.leaderId, replicas: p.replicaNodes })),
      }))
      .sort((a, b) => (a.name! < b.name! ? -1 : 1)),
  };
}

async function allViews(): Promise<object[]> {
  return waitFor('every broker lists three brokers and every partition led', 30_000, async () => {
    const mds = await Promise.all(cluster.brokers.map((b) => metadata(b.port, null, 3000)));
    const ready = mds.every((m) => m.brokers.length === 3 && m.topics.every((x) => x.partitions.every((p) => p.leaderId >= 0)));
    return ready ? mds.map(durableView) : undefined;
  });
}

t.test('stop all three, start them again: all metadata and data are there', async (t) => {
  for (const [i, name] of TOPICS.entries()) {
    const [r] = await createTopics(cluster.broker(i + 1).port, [name], { partitions: 3 });
    t.equal(r!.errorCode, ErrorCode.NONE, `${name} created through broker ${i + 1}`);
  }
  const [doomed] = await createTopics(cluster.broker(1).port, ['deleted'], { partitions: 2 });
  t.equal(doomed!.errorCode, ErrorCode.NONE, 'topic to delete created');
  const kafka = new Kafka({ clientId: 'cluster-restart', brokers: [cluster.broker(2).bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: ['deleted'], timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
  for (const b of cluster.brokers) {
    await waitFor(`broker ${b.nodeId} drops the deleted topic`, 5000, async () => {
      const md = await metadata(b.port, ['deleted']);
      return md.topics[0]!.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? true : undefined;
    });
  }

  for (const name of TOPICS) await topicOn(cluster.broker(1).port, name, 5000);
  const leaders = await metadata(cluster.broker(1).port, ['kept-a']);
  const written: { partition: number; leader: number; value: string }[] = [];
  for (const p of leaders.topics[0]!.partitions) {
    const value = `before-stop-${p.partitionIndex}`;
    const r = await produceOne(cluster.broker(p.leaderId).port, 'kept-a', p.partitionIndex, value);
    t.equal(r.errorCode, ErrorCode.NONE, `record produced to kept-a-${p.partitionIndex} on broker ${p.leaderId}`);
    written.push({ partition: p.partitionIndex, leader: p.leaderId, value });
  }

  const before = await allViews();
  for (const v of before) t.same(v, before[0], 'every broker reports the same metadata before the stop');

  const codes = await cluster.stopAll();
  t.same([...codes.entries()].sort(), [[1, 0], [2, 0], [3, 0]], 'SIGTERM: every broker exits 0');

  await cluster.restartStopped();
  const after = await allViews();
  for (const [i, v] of after.entries()) t.same(v, before[0], `after the restart broker ${i + 1} reports the metadata from before the stop`);
  t.ok([1, 2, 3].includes(await agreedController(cluster, 15_000)), 'a controller is elected again');

  const kcat = await kcatMetadata(cluster.broker(3).bootstrap);
  t.same(kcat.topics.map((x) => x.topic).sort(), [...TOPICS].sort(), 'kcat -L lists the kept topics and not the deleted one');

  for (const w of written) {
    const client = await WireClient.connect(cluster.broker(w.leader).port);
    try {
      const read = await waitFor(`kept-a-${w.partition} readable on broker ${w.leader}`, 10_000, async () => readPartition(client, 'kept-a', w.partition));
      t.same(read.records.map((r) => r.value?.toString()), [w.value], `kept-a-${w.partition} still holds its record`);
    } finally {
      client.close();
    }
  }

  const [fresh] = await createTopics(cluster.broker(2).port, ['after-restart']);
  t.equal(fresh!.errorCode, ErrorCode.NONE, 'CreateTopics works after the restart');
  for (const b of cluster.brokers) await topicOn(b.port, 'after-restart', 3000);
  t.pass('the new topic is on all three brokers');
});
