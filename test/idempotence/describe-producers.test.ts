// DescribeProducers on a two-broker cluster: after an idempotent producer's two batches, the
// partition's leader lists it with its epoch and the sequence of its last record; the other
// broker answers NOT_LEADER_OR_FOLLOWER, an unknown topic or partition
// UNKNOWN_TOPIC_OR_PARTITION. Kafka's own `kafka-transactions describe-producers` shows the
// same producer when java and Kafka's jars (bench/peers/kafka) are there.
import path from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import type { DescribeProducersResponse } from '../../src/shared/protocol/generated/describe-producers-response.js';
import { KAFKA_LIB, KAFKA_PEER, kafkaJarsMissing } from '../helpers/kafka-jars.js';
import { run } from '../clients/harness.js';
import { apiVersions, call, createTopics, metadata, startCluster, waitFor } from '../cluster/fixtures/cluster.js';

const TOPIC = 'described';

t.test('DescribeProducers lists the idempotent producers a partition leader remembers', async (t) => {
  const cluster = await startCluster({}, 2);
  t.teardown(() => {
    if (!t.passing()) console.error(cluster.output());
    cluster.cleanup();
  });
  const [b1, b2] = cluster.brokers;
  const range = (await apiVersions(b1!.port)).apiKeys.find((k) => k.apiKey === ApiKey.DescribeProducers);
  t.same([range?.minVersion, range?.maxVersion], [0, 0], 'DescribeProducers v0 is advertised');

  t.equal((await createTopics(b1!.port, [TOPIC], { partitions: 1 }))[0]!.errorCode, ErrorCode.NONE);
  const leaderId = await waitFor('a leader for the topic on both brokers', 15_000, async () => {
    const leaders = await Promise.all([b1!, b2!].map(async (b) => (await metadata(b.port, [TOPIC])).topics[0]?.partitions[0]?.leaderId ?? -1));
    return leaders[0]! > 0 && leaders[0] === leaders[1] ? leaders[0] : undefined;
  });
  const leader = cluster.broker(leaderId);
  const other = cluster.brokers.find((b) => b.nodeId !== leaderId)!;

  const init = await call<{ errorCode: number; producerId: number; producerEpoch: number }>(leader.port, ApiKey.InitProducerId, 4, {
    transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1,
  });
  t.equal(init.errorCode, ErrorCode.NONE);
  const { producerId, producerEpoch } = init;
  const firstTimestamp = Date.now();
  const produce = (baseSequence: number, count: number) => call<any>(leader.port, ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{
      name: TOPIC,
      partitionData: [{
        index: 0,
        records: buildRecordBatch({ producerId, producerEpoch, baseSequence, firstTimestamp, records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${baseSequence + i}`) })) }),
      }],
    }],
  });
  for (const [seq, n] of [[0, 3], [3, 2]] as const) {
    t.equal((await produce(seq, n)).responses[0].partitionResponses[0].errorCode, ErrorCode.NONE, `batch from sequence ${seq} written`);
  }

  const describe = (port: number) => call<DescribeProducersResponse>(port, ApiKey.DescribeProducers, 0, {
    topics: [{ name: TOPIC, partitionIndexes: [0, 7] }, { name: 'no-such-topic', partitionIndexes: [0] }],
  });
  const fromLeader = await describe(leader.port);
  const [p0, p7] = fromLeader.topics[0]!.partitions;
  t.equal(p0!.errorCode, ErrorCode.NONE);
  t.same(p0!.activeProducers, [{
    producerId, producerEpoch, lastSequence: 4, lastTimestamp: firstTimestamp, coordinatorEpoch: -1, currentTxnStartOffset: -1,
  }], 'the leader lists the producer at its epoch with the sequence of its last record');
  t.same([p7!.partitionIndex, p7!.errorCode, p7!.activeProducers], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []], 'a partition the topic does not have');
  t.same(fromLeader.topics[1]!.partitions.map((p) => p.errorCode), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], 'a topic that does not exist');

  const fromOther = await describe(other.port);
  t.same(fromOther.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.activeProducers.length]),
    [[0, ErrorCode.NOT_LEADER_OR_FOLLOWER, 0], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]], 'a broker that does not lead the partition says so');

  const missing = await kafkaJarsMissing();
  t.test('kafka-transactions describe-producers', { skip: missing ?? false }, async (t) => {
    const bootstrap = cluster.brokers.map((b) => b.bootstrap).join(',');
    const r = await run('java', ['-Dlog4j2.configurationFile=' + path.join(KAFKA_PEER, 'log4j2.properties'), '-cp', path.join(KAFKA_LIB, '*'),
      'org.apache.kafka.tools.TransactionsCommand', '--bootstrap-server', bootstrap, 'describe-producers', '--topic', TOPIC, '--partition', '0'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, `the tool exits cleanly ${r.code === 0 ? '' : r.stderr.toString().slice(-500)}`);
    const row = r.stdout.toString().split('\n').find((l) => l.trim().startsWith(`${producerId}`));
    t.match(row ?? '', new RegExp(`^\\s*${producerId}\\s+${producerEpoch}\\s+-1\\s+4\\s+${firstTimestamp}\\s+None`), `the tool shows the producer: ${row}`);
  });
});
