// Write caching on three brokers: acks=all with min.insync.replicas=2 is answered once the
// in-sync followers have written the batch, with no fdatasync on any broker, and a SIGKILL
// of the partition leader loses none of it: the new leader has it in its page cache.
import t from 'tap';
import kafkajs from 'kafkajs';
const { Kafka, logLevel } = kafkajs;
import { freePort } from '../helpers/broker.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { metadata, startCluster, waitFor } from './fixtures/cluster.js';

t.test('write caching with replication factor 3: acknowledged writes survive a SIGKILL of the leader, none fsynced', async (t) => {
  const metricsPorts = [await freePort(), await freePort(), await freePort()];
  const cluster = await startCluster((id) => ({ 'metrics.listener': `http://127.0.0.1:${metricsPorts[id - 1]}` }));
  t.teardown(() => {
    if (!t.passing()) t.comment(cluster.output().split('\n').slice(-60).join('\n'));
    cluster.cleanup();
  });
  const kafka = new Kafka({ clientId: 'write-caching-rf3', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{
      topic: 'rf3', numPartitions: 1, replicationFactor: 3,
      configEntries: [{ name: 'write.caching', value: 'true' }, { name: 'flush.ms', value: '600000' }, { name: 'min.insync.replicas', value: '2' }],
    }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const values = Array.from({ length: 100 }, (_, i) => `rf3-${i}`);
  for (const value of values) await producer.send({ topic: 'rf3', acks: -1, messages: [{ value }] });
  await producer.disconnect();
  const syncs = await Promise.all(metricsPorts.map(async (port) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^kafka_ts_groupcommit_fdatasync_seconds_count (\d+)/m.exec(text)?.[1]);
  }));
  t.same(syncs, [0, 0, 0], `${values.length} acks=all produces answered with no fdatasync on any broker`);

  const leader = (await metadata(cluster.broker(1).port, ['rf3'])).topics[0]!.partitions[0]!.leaderId;
  await cluster.broker(leader).kill('SIGKILL');
  const survivor = cluster.brokers.find((b) => b.nodeId !== leader)!;
  const next = await waitFor('a new leader', 20_000, async () => {
    const p = (await metadata(survivor.port, ['rf3']).catch(() => undefined))?.topics[0]?.partitions[0];
    return p && p.leaderId >= 0 && p.leaderId !== leader ? p.leaderId : undefined;
  });
  const reader = await WireClient.connect(cluster.broker(next).port);
  t.teardown(() => reader.close());
  const read = await waitFor('the new leader to serve the partition', 20_000, () => readPartition(reader, 'rf3', 0).then((r) => (r.highWatermark >= values.length ? r : undefined), () => undefined));
  t.same(read.records.map((r) => r.value?.toString()), values, `broker ${next}, leading after broker ${leader} was killed, serves every acknowledged record`);
});
