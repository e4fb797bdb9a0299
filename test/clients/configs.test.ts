// Dynamic configuration against a real broker: kafkajs (AlterConfigs, DescribeConfigs) and
// raw IncrementalAlterConfigs v1. Changes take effect on live logs (segment size, retention,
// max.message.bytes, min.insync.replicas), DescribeConfigs reports where each value comes from, refusals carry
// Kafka's error codes, and everything survives a restart.
import t from 'tap';
import kafkajs from 'kafkajs';
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown, eventually } from './harness.js';
import { WireClient } from './wire-client.js';

const TOPIC = 'configs-live';
const SET = 0;
const DELETE = 1;

t.test('dynamic topic and broker configs', async (t) => {
  const broker = await startBroker({ overrides: { 'num.partitions': 1, 'log.retention.check.interval.ms': 200, 'log.retention.hours': 100 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'configs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  let wire = await WireClient.connect(broker.port);
  t.teardown(() => wire.close());
  const incremental = async (resourceType: number, resourceName: string, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) => {
    const r = await wire.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly });
    return r.responses[0] as { errorCode: number; errorMessage: string | null };
  };
  const describe = async (type: number, name: string) => {
    const r = await admin.describeConfigs({ resources: [{ type, name }], includeSynonyms: true });
    return new Map(r.resources[0]!.configEntries.map((e) => [e.configName, e]));
  };
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());

  await t.test('segment.bytes and retention.ms act on the live log', async (t) => {
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'segment.bytes', configOperation: SET, value: '1024' }])).errorCode, ErrorCode.NONE);
    for (let i = 0; i < 10; i++) await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(600, i) }] });
    const before = await admin.fetchTopicOffsets(TOPIC);
    t.same([before[0]!.low, before[0]!.high], ['0', '10'], 'nothing deleted under the static retention of 100 hours');
    // AlterConfigs replaces the topic's configs: segment.bytes is listed again to keep it.
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.ms', value: '1' }] }] });
    await eventually('retention to delete the rolled segments', async () => Number((await admin.fetchTopicOffsets(TOPIC))[0]!.low) > 0);
    const after = await admin.fetchTopicOffsets(TOPIC);
    t.ok(Number(after[0]!.low) >= 8, `segments of 1024 bytes rolled and expired (earliest offset ${after[0]!.low})`);
    t.equal(after[0]!.high, '10', 'the log end stays');
  });

  await t.test('max.message.bytes refuses larger batches at once', async (t) => {
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'max.message.bytes', configOperation: SET, value: '300' }])).errorCode, ErrorCode.NONE);
    await t.rejects(producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(600) }] }), { type: 'MESSAGE_TOO_LARGE' });
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'max.message.bytes', configOperation: DELETE, value: null }])).errorCode, ErrorCode.NONE);
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(600) }] });
    t.pass('accepted again once the topic config is deleted');
  });

  await t.test('min.insync.replicas applies to the next acks=all produce', async (t) => {
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'min.insync.replicas', configOperation: SET, value: '2' }])).errorCode, ErrorCode.NONE);
    await t.rejects(producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'x' }] }), { message: /fewer in-sync replicas than required/ }, 'one in-sync replica is not enough any more (NOT_ENOUGH_REPLICAS)');
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'min.insync.replicas', configOperation: DELETE, value: null }])).errorCode, ErrorCode.NONE);
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: 'x' }] });
    t.pass('accepted again with the default');
  });

  await t.test('sources and synonyms', async (t) => {
    let topic = await describe(ConfigResourceTypes.TOPIC, TOPIC);
    const retention = topic.get('retention.ms')!;
    t.equal(retention.configValue, '1');
    t.equal(retention.configSource, 1, 'retention.ms is the topic\'s own');
    t.same(retention.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource]), [
      ['retention.ms', '1', 1], ['log.retention.ms', '360000000', 4], ['log.retention.ms', '604800000', 5],
    ], 'then the static broker setting, then the default');
    t.equal(topic.get('segment.ms')!.configSource, 5, 'segment.ms is the default');

    t.equal((await incremental(ConfigResourceTypes.BROKER, '', [{ name: 'log.retention.bytes', configOperation: SET, value: '123456' }])).errorCode, ErrorCode.NONE);
    t.equal((await incremental(ConfigResourceTypes.BROKER, '1', [{ name: 'log.retention.bytes', configOperation: SET, value: '654321' }])).errorCode, ErrorCode.NONE);
    topic = await describe(ConfigResourceTypes.TOPIC, TOPIC);
    t.same([topic.get('retention.bytes')!.configValue, topic.get('retention.bytes')!.configSource], ['654321', 2], 'the per-broker setting wins over the cluster default');
    const brokerOne = await describe(ConfigResourceTypes.BROKER, '1');
    t.same(brokerOne.get('log.retention.bytes')!.configSynonyms.map((s) => [s.configValue, s.configSource]), [['654321', 2], ['123456', 3], ['-1', 5]]);
    t.equal(brokerOne.get('log.dirs')!.readOnly, true, 'static-only settings are read-only');
    // kafkajs will not name the cluster default (an empty broker name): asked on the wire.
    const clusterDefault = await wire.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: ConfigResourceTypes.BROKER, resourceName: '', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    t.same(clusterDefault.results[0].configs.map((c: { name: string; value: string; configSource: number }) => [c.name, c.value, c.configSource]), [['log.retention.bytes', '123456', 3]], 'the cluster default lists what is set there');
  });

  await t.test('refusals and validateOnly', async (t) => {
    const unknown = await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'retention.forever', configOperation: SET, value: '1' }]);
    t.equal(unknown.errorCode, ErrorCode.INVALID_CONFIG);
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'retention.ms', configOperation: SET, value: 'soon' }])).errorCode, ErrorCode.INVALID_CONFIG);
    t.equal((await incremental(ConfigResourceTypes.BROKER, '1', [{ name: 'listeners', configOperation: SET, value: 'PLAINTEXT://:1' }])).errorCode, ErrorCode.INVALID_REQUEST);
    t.equal((await incremental(ConfigResourceTypes.TOPIC, TOPIC, [{ name: 'retention.ms', configOperation: SET, value: '99' }], true)).errorCode, ErrorCode.NONE);
    t.equal((await describe(ConfigResourceTypes.TOPIC, TOPIC)).get('retention.ms')!.configValue, '1', 'validateOnly changed nothing');
  });

  await t.test('configs survive a restart', async (t) => {
    wire.close();
    await producer.disconnect();
    await admin.disconnect();
    await broker.stop();
    await broker.restart();
    wire = await WireClient.connect(broker.port);
    let topic = new Map<string, { configValue: string }>();
    await eventually('the restarted broker to describe the topic', async () => {
      topic = await describe(ConfigResourceTypes.TOPIC, TOPIC).catch(() => new Map());
      return topic.size > 0;
    });
    t.same([topic.get('retention.ms')!.configValue, topic.get('segment.bytes')!.configValue, topic.get('retention.bytes')!.configValue], ['1', '1024', '654321']);
  });
});
