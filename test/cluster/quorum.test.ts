// Three broker processes form one metadata quorum and serve clients as one cluster: every
// broker lists the same brokers, topics, partitions, leaders and controller (through kcat and
// through Metadata), answers ApiVersions, Metadata, Produce and Fetch, and refuses Produce for
// partitions another broker leads with NOT_LEADER_OR_FOLLOWER. Topics created through any
// broker (kafkajs admin through broker 2, CreateTopics through broker 3) show up on the others
// as soon as the create is answered, with a leader and a non-empty ISR on every partition.
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import {
  activeController, apiVersions, call, createTopics, kcatMetadata, leadersOf, metadata, produceOne, startCluster, topicOn, waitFor,
  type Cluster,
} from './fixtures/cluster.js';

let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster();
});
t.teardown(() => {
  // The brokers' own logs are the first thing to read when a cluster test fails.
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

t.test('all three brokers are registered and agree on the controller', async (t) => {
  const views = await waitFor('every broker lists three brokers', 30_000, async () => {
    const mds = await Promise.all(cluster.brokers.map((b) => metadata(b.port)));
    return mds.every((m) => m.brokers.length === 3) ? mds : undefined;
  });
  for (const [i, md] of views.entries()) {
    t.same(md.brokers.map((b) => b.nodeId).sort((a, b) => a - b), [1, 2, 3], `broker ${i + 1} lists brokers 1, 2, 3`);
    t.same(md.brokers.map((b) => b.port).sort((a, b) => a - b), cluster.brokers.map((b) => b.port).sort((a, b) => a - b), `broker ${i + 1} advertises every client port`);
    t.equal(md.clusterId, views[0]!.clusterId, `broker ${i + 1} reports the same cluster id`);
  }
  t.ok(views[0]!.clusterId, 'the cluster has an id');
  const controller = await waitFor('brokers agree on an active controller', 15_000, async () => {
    const ids = await Promise.all(cluster.brokers.map((b) => activeController(b.port)));
    return ids.every((id) => id === ids[0] && id >= 1 && id <= 3) ? ids[0] : undefined;
  });
  t.ok([1, 2, 3].includes(controller), `active controller is node ${controller}`);
  const named = await Promise.all(cluster.brokers.map(async (b) => (await metadata(b.port, [])).controllerId));
  t.same(named, [1, 2, 3], 'Metadata names the answering broker itself as controller: one that is live');
  const described = await Promise.all(cluster.brokers.map((b) => call<{ controllerId: number; brokers: unknown[] }>(b.port, ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 })));
  t.same(described.map((d) => [d.controllerId, d.brokers.length]), [[1, 3], [2, 3], [3, 3]], 'so does DescribeCluster for brokers');
  const odd = await call<{ errorCode: number }>(cluster.broker(1).port, ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 7 });
  t.equal(odd.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, 'an unknown endpoint type gets UNSUPPORTED_ENDPOINT_TYPE');
});

t.test('a topic created through one broker has the same leaders on every broker, seen through kcat', async (t) => {
  const created = await createTopics(cluster.broker(1).port, ['spread'], { partitions: 6 });
  t.equal(created[0]!.errorCode, ErrorCode.NONE, 'CreateTopics through broker 1 succeeds');
  // Answered after commit: followers apply quickly, but not in the same instant.
  const views = await Promise.all(cluster.brokers.map((b) => topicOn(b.port, 'spread', 5000)));
  const leaders = leadersOf(views[0]!, ['spread']).spread!;
  t.equal(leaders.length, 6, 'six partitions');
  for (const id of [1, 2, 3]) {
    t.equal(leaders.filter((l) => l === id).length, 2, `broker ${id} leads two of the six partitions`);
  }
  for (const [i, v] of views.entries()) t.same(leadersOf(v, ['spread']), { spread: leaders }, `broker ${i + 1} reports the same leaders`);

  const kcat = await Promise.all(cluster.brokers.map((b) => kcatMetadata(b.bootstrap)));
  for (const [i, k] of kcat.entries()) {
    t.same(k.brokers.map((b) => b.id).sort((a, b) => a - b), [1, 2, 3], `kcat -L on broker ${i + 1} lists three brokers`);
    t.equal(k.controllerid, i + 1, `kcat -L on broker ${i + 1} names that broker as controller`);
    const topics = Object.fromEntries(k.topics.map((x) => [x.topic, [...x.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.leader)]));
    t.same(topics, Object.fromEntries(kcat[0]!.topics.map((x) => [x.topic, [...x.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.leader)])), `kcat -L on broker ${i + 1} lists the same topics and leaders`);
    t.same(topics.spread, leaders, `kcat -L on broker ${i + 1} agrees with Metadata`);
  }
});

t.test('every broker answers ApiVersions, Metadata, Produce and Fetch for what it leads', async (t) => {
  const md = await topicOn(cluster.broker(1).port, 'spread', 5000);
  const leaders = leadersOf(md, ['spread']).spread!;
  for (const b of cluster.brokers) {
    const av = await apiVersions(b.port);
    t.equal(av.errorCode, ErrorCode.NONE, `broker ${b.nodeId} answers ApiVersions`);
    t.ok(av.apiKeys.length > 5, `broker ${b.nodeId} lists its APIs`);
    const own = await metadata(b.port, ['spread']);
    t.equal(own.topics[0]!.errorCode, ErrorCode.NONE, `broker ${b.nodeId} answers Metadata for the topic`);
    for (let p = 0; p < leaders.length; p++) {
      const r = await produceOne(b.port, 'spread', p, `from-${b.nodeId}-to-${p}`);
      if (leaders[p] === b.nodeId) {
        t.equal(r.errorCode, ErrorCode.NONE, `broker ${b.nodeId} accepts Produce to spread-${p}, which it leads`);
      } else {
        t.equal(r.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${b.nodeId} refuses Produce to spread-${p}, led by ${leaders[p]}`);
      }
    }
  }
  for (let p = 0; p < leaders.length; p++) {
    const leader = cluster.broker(leaders[p]!);
    const client = await WireClient.connect(leader.port);
    try {
      // acks=1 answered once the leader wrote the record; consumers see it once the followers
      // have it too and the high watermark passes it.
      const want = [`from-${leader.nodeId}-to-${p}`];
      const values = await waitFor(`spread-${p}'s record readable on broker ${leader.nodeId}`, 10_000, async () => {
        const got = (await readPartition(client, 'spread', p)).records.map((r) => r.value?.toString());
        return got.length >= want.length ? got : undefined;
      }).catch(() => [] as (string | undefined)[]);
      t.same(values, want, `Fetch from broker ${leader.nodeId} returns spread-${p}'s record`);
    } finally {
      client.close();
    }
  }
});

t.test('a topic created with kafkajs admin through broker 2 appears on brokers 1 and 3', async (t) => {
  const kafka = new Kafka({ clientId: 'cluster-admin', brokers: [cluster.broker(2).bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    t.ok(await admin.createTopics({ topics: [{ topic: 'via-two', numPartitions: 3 }], waitForLeaders: false }), 'kafkajs reports the topic created');
  } finally {
    await admin.disconnect();
  }
  for (const id of [1, 3]) {
    // The create was answered after commit; a follower applies within a heartbeat or two.
    const md = await topicOn(cluster.broker(id).port, 'via-two', 3000);
    t.equal(md.topics[0]!.partitions.length, 3, `broker ${id} sees via-two with 3 partitions`);
  }
});

t.test('a create that returns success is on every broker, every partition led and with an ISR', async (t) => {
  const names = Array.from({ length: 5 }, (_, i) => `committed-${i}`);
  for (const name of names) {
    const [r] = await createTopics(cluster.broker(3).port, [name], { partitions: 4 });
    t.equal(r!.errorCode, ErrorCode.NONE, `${name} created through broker 3`);
  }
  for (const b of cluster.brokers) {
    const md = await waitFor(`broker ${b.nodeId} applies the five creates`, 3000, async () => {
      const m = await metadata(b.port, names);
      return m.topics.every((x) => x.errorCode === ErrorCode.NONE) ? m : undefined;
    }, 50);
    const problems: string[] = [];
    for (const topic of md.topics) {
      if (topic.partitions.length !== 4) problems.push(`${topic.name} has ${topic.partitions.length} partitions`);
      for (const p of topic.partitions) {
        const at = `${topic.name}-${p.partitionIndex}`;
        if (p.leaderId < 1 || p.leaderId > 3) problems.push(`${at} has leader ${p.leaderId}`);
        if (p.isrNodes.length === 0) problems.push(`${at} has an empty ISR`);
        else if (!p.isrNodes.includes(p.leaderId)) problems.push(`${at}: leader ${p.leaderId} not in ISR ${p.isrNodes.join(',')}`);
        if (p.replicaNodes.length !== 1 || p.replicaNodes[0] !== p.leaderId) problems.push(`${at}: replicas ${p.replicaNodes.join(',')}, leader ${p.leaderId}`);
      }
    }
    t.same(problems, [], `broker ${b.nodeId}: every partition of the five topics has 4 partitions, a live leader, a non-empty ISR holding it`);
  }
});
