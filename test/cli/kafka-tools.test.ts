// Kafka 4.3's own operator tools against a three-broker cluster: kafka-configs alters and
// describes topic and cluster-default configs, kafka-delete-records trims a partition,
// kafka-reassign-partitions moves it (--execute with a throttle, which sets the throttled
// replicas of the move and the rate on its brokers, then --verify until done, which clears
// them), kafka-leader-election hands leadership to the preferred
// replica and kafka-log-dirs reports it on its new brokers. Every record from the deletion
// point on is still there at the end.
//
// Optional: runs when `java` is installed and Kafka's jars are in bench/peers/kafka/lib (it
// runs bench/peers/kafka/fetch.sh to get them); otherwise it says why it is skipped.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA_LIB, KAFKA_PEER, kafkaJarsMissing } from '../helpers/kafka-jars.js';
import { run } from '../clients/harness.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { metadata, startCluster, waitFor } from '../cluster/fixtures/cluster.js';

const TOPIC = 'tools';

t.test('Kafka CLI tools operate the cluster', async (t) => {
  const missing = await kafkaJarsMissing();
  if (missing !== null) {
    t.skip(`skipped: ${missing}`);
    return;
  }
  const cluster = await startCluster({ 'auto.leader.rebalance.enable': 'false' });
  t.teardown(() => {
    if (!t.passing()) console.error(cluster.output());
    cluster.cleanup();
  });
  const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(',');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kafka-tools-'));
  const tool = async (cls: string, ...args: string[]): Promise<string> => {
    const r = await run('java', ['-Dlog4j2.configurationFile=' + path.join(KAFKA_PEER, 'log4j2.properties'), '-cp', path.join(KAFKA_LIB, '*'), cls, '--bootstrap-server', bootstrap, ...args], { timeoutMs: 60_000 });
    const out = r.stdout.toString();
    if (r.code !== 0) throw new Error(`${cls} ${args.join(' ')} exited ${r.code}:\n${out}\n${r.stderr}`);
    return out;
  };
  const json = (name: string, value: object): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };

  await tool('org.apache.kafka.tools.TopicCommand', '--create', '--topic', TOPIC, '--replica-assignment', '1:2');
  const kafka = new Kafka({ clientId: 'tools', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let i = 0; i < 30; i++) await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `r${i}` }] });
  await producer.disconnect();

  await tool('kafka.admin.ConfigCommand', '--alter', '--entity-type', 'topics', '--entity-name', TOPIC, '--add-config', 'retention.ms=86400000,cleanup.policy=[delete,compact]');
  await tool('kafka.admin.ConfigCommand', '--alter', '--entity-type', 'brokers', '--entity-default', '--add-config', 'log.retention.bytes=1073741824');
  const described = await tool('kafka.admin.ConfigCommand', '--describe', '--entity-type', 'topics', '--entity-name', TOPIC);
  t.match(described, /retention\.ms=86400000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=86400000/, 'kafka-configs shows the topic config and its synonyms');
  t.match(described, /cleanup\.policy=delete,compact/);
  t.match(await tool('kafka.admin.ConfigCommand', '--describe', '--entity-type', 'brokers', '--entity-default'), /log\.retention\.bytes=1073741824 .*DYNAMIC_DEFAULT_BROKER_CONFIG/, 'and the cluster default');

  const deleted = await tool('org.apache.kafka.tools.DeleteRecordsCommand', '--offset-json-file', json('delete.json', { version: 1, partitions: [{ topic: TOPIC, partition: 0, offset: 10 }] }));
  t.match(deleted, /partition: tools-0\s+low_watermark: 10/, 'kafka-delete-records moves the low watermark to 10');

  const plan = json('reassign.json', { version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas: [3, 2] }] });
  t.match(await tool('org.apache.kafka.tools.reassign.ReassignPartitionsCommand', '--execute', '--throttle', '50000000', '--reassignment-json-file', plan), /Successfully started partition reassignment for tools-0/);
  const throttled = await tool('kafka.admin.ConfigCommand', '--describe', '--entity-type', 'topics', '--entity-name', TOPIC);
  t.match(throttled, /leader\.replication\.throttled\.replicas=0:1,0:2 /, 'the throttle covers the replicas the move copies from');
  t.match(throttled, /follower\.replication\.throttled\.replicas=0:3 /, 'and the one it copies to');
  t.match(await tool('kafka.admin.ConfigCommand', '--describe', '--entity-type', 'brokers', '--entity-name', '3'), /follower\.replication\.throttled\.rate=50000000 .*DYNAMIC_BROKER_CONFIG/, 'at the rate given, on each broker of the move');
  const verified = await waitFor('kafka-reassign-partitions --verify to report completion', 60_000, async () => {
    const out = await tool('org.apache.kafka.tools.reassign.ReassignPartitionsCommand', '--verify', '--reassignment-json-file', plan);
    return /Reassignment of partition tools-0 is completed/.test(out) ? out : undefined;
  }, 500);
  t.match(verified, /Clearing broker-level throttles/, '--verify clears the throttles once the move is done');
  t.notMatch(await tool('kafka.admin.ConfigCommand', '--describe', '--entity-type', 'topics', '--entity-name', TOPIC), /throttled/, 'no throttled replicas are left on the topic');
  const moved = (await metadata(cluster.broker(2).port, [TOPIC])).topics[0]!.partitions[0]!;
  t.same([[...moved.replicaNodes].sort(), moved.leaderId], [[2, 3], 3], 'the partition lives on brokers 2 and 3, led by 3');

  // Broker 2 first, already in sync: the reorder finishes at once; then 2 is the preferred leader.
  const reorder = json('reorder.json', { version: 1, partitions: [{ topic: TOPIC, partition: 0, replicas: [2, 3] }] });
  await tool('org.apache.kafka.tools.reassign.ReassignPartitionsCommand', '--execute', '--reassignment-json-file', reorder);
  t.match(await tool('org.apache.kafka.tools.LeaderElectionCommand', '--election-type', 'preferred', '--topic', TOPIC, '--partition', '0'),
    /Successfully completed leader election \(PREFERRED\) for partitions tools-0/, 'kafka-leader-election moves leadership to broker 2');

  const dirs = JSON.parse((await tool('org.apache.kafka.tools.LogDirsCommand', '--describe', '--topic-list', TOPIC)).split('\n').find((l) => l.startsWith('{'))!);
  const holders = (dirs.brokers as { broker: number; logDirs: { partitions: { partition: string; size: number }[] }[] }[])
    .filter((b) => b.logDirs[0]!.partitions.some((p) => p.partition === 'tools-0' && p.size > 0)).map((b) => b.broker).sort();
  t.same(holders, [2, 3], 'kafka-log-dirs reports the partition with its size on brokers 2 and 3');

  const wire = await WireClient.connect(cluster.broker(2).port);
  t.teardown(() => wire.close());
  const read = await waitFor('broker 2 to serve the partition', 15_000, () => readPartition(wire, TOPIC, 0, 10).catch(() => undefined));
  t.same(read.records.map((r) => r.value?.toString()), Array.from({ length: 20 }, (_, i) => `r${i + 10}`), 'every record from the deletion point on is there');
});
