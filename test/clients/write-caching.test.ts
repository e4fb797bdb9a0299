// Write caching against a real broker process and kafkajs: acks=all answered before the
// fsync, the fdatasync count the metrics endpoint shows far below the records produced,
// DescribeConfigs showing each flush setting and where it comes from, and a SIGKILL (the
// page cache survives a process kill) losing nothing that was acknowledged.
import t from 'tap';
import kafkajs from 'kafkajs';
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { readPartition, WireClient } from './wire-client.js';

/** kafkajs's ConfigSource ids (Kafka's DescribeConfigs sources). */
const SOURCE = { TOPIC: 1, DYNAMIC_DEFAULT_BROKER: 3, STATIC_BROKER: 4, DEFAULT: 5 };
const LONG_MAX = '9223372036854775807';

/** fdatasync calls of the group commit so far, as the metrics endpoint counts them. */
async function fdatasyncs(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const m = /^kafka_ts_groupcommit_fdatasync_seconds_count (\d+)/m.exec(text);
  if (!m) throw new Error('no kafka_ts_groupcommit_fdatasync_seconds_count in /metrics');
  return Number(m[1]);
}

t.test('write.caching=true: far fewer fdatasyncs than acknowledged records, and DescribeConfigs shows the settings', async (t) => {
  const metricsPort = await freePort();
  const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${metricsPort}`, 'log.flush.interval.messages': 5000 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'write-caching', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      { topic: 'cached', numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'write.caching', value: 'true' }] },
      { topic: 'synced', numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'flush.messages', value: '1' }] },
    ],
    waitForLeaders: true,
  });
  const describe = async (type: number, name: string) => {
    const r = await admin.describeConfigs({ resources: [{ type, name }], includeSynonyms: true });
    return new Map(r.resources[0]!.configEntries.map((e) => [e.configName, { value: e.configValue, source: e.configSource }]));
  };
  const topic = await describe(ConfigResourceTypes.TOPIC, 'cached');
  t.same(topic.get('write.caching'), { value: 'true', source: SOURCE.TOPIC }, 'write.caching=true, set on the topic');
  t.same(topic.get('flush.messages'), { value: '5000', source: SOURCE.STATIC_BROKER }, 'flush.messages from log.flush.interval.messages in the broker\'s settings');
  t.same(topic.get('flush.ms'), { value: LONG_MAX, source: SOURCE.DEFAULT }, 'flush.ms at Kafka\'s default');
  const brokerConfigs = await describe(ConfigResourceTypes.BROKER, '1');
  t.same(brokerConfigs.get('log.write.caching'), { value: 'false', source: SOURCE.DEFAULT }, 'the broker default log.write.caching is false');

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const records = 200;
  const produce = async (name: string): Promise<number> => {
    const before = await fdatasyncs(metricsPort);
    for (let i = 0; i < records; i++) await producer.send({ topic: name, acks: -1, messages: [{ value: `${name}-${i}` }] });
    return (await fdatasyncs(metricsPort)) - before;
  };
  const synced = await produce('synced');
  t.ok(synced >= records, `flush.messages=1: every acks=all record is fsynced before its answer (${synced} fdatasyncs for ${records} records)`);
  const cached = await produce('cached');
  t.ok(cached < records / 4, `write.caching=true: ${cached} fdatasyncs for ${records} acknowledged records`);

  const wire = await WireClient.connect(broker.port);
  t.teardown(() => wire.close());
  const altered = await wire.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: '', configs: [{ name: 'log.flush.interval.ms', configOperation: 0, value: '50' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0].errorCode, ErrorCode.NONE, 'log.flush.interval.ms set as the cluster default');
  await eventually('flush.ms to follow the cluster default', async () => (await describe(ConfigResourceTypes.TOPIC, 'cached')).get('flush.ms')?.value === '50');
  t.same((await describe(ConfigResourceTypes.TOPIC, 'cached')).get('flush.ms'), { value: '50', source: SOURCE.DYNAMIC_DEFAULT_BROKER }, 'DescribeConfigs names the cluster default as its source');
});

t.test('write.caching=true: a SIGKILL loses no acknowledged record, fsynced or not', async (t) => {
  const metricsPort = await freePort();
  const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${metricsPort}` } });
  brokerTeardown(t, broker);
  const partitions = 2;
  const kafka = new Kafka({ clientId: 'write-caching-kill', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  // A flush.ms of ten minutes, and less than write caching's 256 KiB per partition produced:
  // nothing is fsynced before the kill.
  await admin.createTopics({
    topics: [{ topic: 'kill', numPartitions: partitions, replicationFactor: 1, configEntries: [{ name: 'write.caching', value: 'true' }, { name: 'flush.ms', value: '600000' }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  const acked: { partition: number; baseOffset: number; values: string[] }[] = [];
  let sent = 0;
  let stopped = false;
  const loops = Array.from({ length: 4 }, async (_, loop) => {
    const partition = loop % partitions;
    while (!stopped) {
      const n = sent++;
      const values = Array.from({ length: 5 }, (_, i) => `kill-${n}-${i}-${'w'.repeat((n * 3 + i) % 80)}`);
      try {
        const [meta] = await producer.send({ topic: 'kill', acks: -1, messages: values.map((value) => ({ partition, value })) });
        acked.push({ partition, baseOffset: Number(meta!.baseOffset), values });
      } catch {
        return;
      }
    }
  });
  await eventually('produces acknowledged while more are in flight', () => acked.length >= 150, 30_000);
  const synced = await fdatasyncs(metricsPort);
  await broker.kill('SIGKILL');
  stopped = true;
  await Promise.all(loops);
  await producer.disconnect().catch(() => undefined);
  t.equal(synced, 0, `${acked.length} produces acknowledged and not one fdatasync before the kill`);

  await broker.restart();
  const reader = await WireClient.connect(broker.port);
  t.teardown(() => reader.close());
  await eventually('the topic to be readable after the restart', async () => {
    try {
      for (let p = 0; p < partitions; p++) await readPartition(reader, 'kill', p);
      return true;
    } catch {
      return false;
    }
  }, 30_000);
  for (let p = 0; p < partitions; p++) {
    const { records } = await readPartition(reader, 'kill', p);
    const byOffset = new Map(records.map((r) => [r.offset, r.value?.toString()]));
    const mine = acked.filter((a) => a.partition === p);
    const lost = mine.flatMap((a) => a.values.map((v, i) => ({ offset: a.baseOffset + i, v }))).filter((x) => byOffset.get(x.offset) !== x.v);
    t.same(lost.slice(0, 5), [], `partition ${p}: all ${mine.length} acknowledged batches read back after the restart`);
  }
});
