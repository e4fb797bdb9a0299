// The controller's config changes: what it accepts, what it refuses with which Kafka error,
// and that the records it writes rebuild the same configs from a snapshot.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { throttledPartitions } from '../../src/shared/dynamic-config.js';
import { ConfigOp, ConfigResourceType as Res, type ConfigResourceChange } from '../../src/shared/metadata-types.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { cluster, commit } from './fixtures/cluster.js';

const set = (name: string, value: string) => ({ name, op: ConfigOp.SET, value });
const topic = (changes: ConfigResourceChange['changes']): ConfigResourceChange => ({ resourceType: Res.TOPIC, resourceName: 'orders', changes });
const broker = (name: string, changes: ConfigResourceChange['changes']): ConfigResourceChange => ({ resourceType: Res.BROKER, resourceName: name, changes });

function withTopic() {
  const c = cluster(3);
  commit(c.image, c.controller.createTopics({ topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3, configs: { 'retention.ms': '1000' } }], validateOnly: false }).records);
  return c;
}

t.test('incremental changes to a topic: set, delete, append, subtract', async (t) => {
  const { image, controller } = withTopic();
  const d = controller.alterConfigs({ resources: [topic([set('segment.bytes', '4096'), { name: 'retention.ms', op: ConfigOp.DELETE, value: null }, { name: 'cleanup.policy', op: ConfigOp.APPEND, value: 'compact' }])], incremental: true, validateOnly: false });
  t.same(d.result, [{ errorCode: ErrorCode.NONE, errorMessage: null }]);
  commit(image, d.records);
  t.same(Object.fromEntries(image.topicsByName.get('orders')!.configs), { 'segment.bytes': '4096', 'cleanup.policy': 'delete,compact' }, 'retention.ms removed, cleanup.policy appended to its default');
  commit(image, controller.alterConfigs({ resources: [topic([{ name: 'cleanup.policy', op: ConfigOp.SUBTRACT, value: 'delete' }])], incremental: true, validateOnly: false }).records);
  t.equal(image.topicsByName.get('orders')!.configs.get('cleanup.policy'), 'compact');
});

t.test('AlterConfigs replaces every config of the resource', async (t) => {
  const { image, controller } = withTopic();
  commit(image, controller.alterConfigs({ resources: [topic([set('max.message.bytes', '2048')])], incremental: false, validateOnly: false }).records);
  t.same(Object.fromEntries(image.topicsByName.get('orders')!.configs), { 'max.message.bytes': '2048' });
});

t.test('refusals carry Kafka error codes and change nothing', async (t) => {
  const { image, controller } = withTopic();
  const d = controller.alterConfigs({
    resources: [
      topic([set('retention.ms', '5'), set('no.such.config', '1')]),
      topic([set('min.insync.replicas', '0')]),
      topic([set('cleanup.policy', 'shred')]),
      topic([{ name: 'retention.ms', op: ConfigOp.APPEND, value: '1' }]),
      topic([set('retention.ms', '1'), set('retention.ms', '2')]),
      { ...topic([set('retention.ms', '1')]), resourceName: 'missing' },
      broker('1', [set('log.dirs', '/tmp/x')]),
      broker('', [set('log.retention.ms', 'soon')]),
      broker('one', [set('log.retention.ms', '1')]),
    ],
    incremental: true,
    validateOnly: false,
  });
  t.same(d.result.map((r) => r.errorCode), [
    ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_REQUEST,
  ]);
  t.match(d.result[0]!.errorMessage, /Unknown topic config name: no.such.config/);
  t.match(d.result[6]!.errorMessage, /Cannot update these configs dynamically: log.dirs/);
  t.same(d.records, [], 'no record for any refused resource');
  t.equal(image.topicsByName.get('orders')!.configs.get('retention.ms'), '1000');
});

t.test('validateOnly checks and writes nothing', async (t) => {
  const { controller } = withTopic();
  const ok = controller.alterConfigs({ resources: [topic([set('retention.ms', '5')]), broker('', [set('log.segment.bytes', '1')])], incremental: true, validateOnly: true });
  t.same(ok.result.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.INVALID_CONFIG]);
  t.same(ok.records, []);
});

t.test('broker settings per broker and cluster default survive a snapshot', async (t) => {
  const { image, controller } = withTopic();
  commit(image, controller.alterConfigs({ resources: [broker('', [set('log.retention.ms', '60000')]), broker('2', [set('message.max.bytes', '5000')])], incremental: true, validateOnly: false }).records);
  const restored = MetadataImage.fromSnapshot(image.encodeSnapshot());
  const snap = restored.toMetadataSnapshot(1);
  t.same(snap.brokerConfigs, { '': { 'log.retention.ms': '60000' }, '2': { 'message.max.bytes': '5000' } });
  commit(image, controller.alterConfigs({ resources: [broker('2', [{ name: 'message.max.bytes', op: ConfigOp.DELETE, value: null }])], incremental: true, validateOnly: false }).records);
  t.same(image.toMetadataSnapshot(1).brokerConfigs, { '': { 'log.retention.ms': '60000' } }, 'deleting the last setting of a broker leaves nothing for it');
});

t.test('throttled replica lists are "*" or partition:broker pairs, as Kafka validates them', async (t) => {
  const { controller } = withTopic();
  const lists = ['0:1,0:2', '*', '', 'all', '0:1,*', '0-1', '1:a'];
  const d = controller.alterConfigs({
    resources: lists.map((v) => topic([set('leader.replication.throttled.replicas', v), set('follower.replication.throttled.replicas', '0:3')])),
    incremental: true,
    validateOnly: true,
  });
  t.same(d.result.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG]);
  t.match(d.result[3]!.errorMessage, /Invalid value all for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '\*' or a list of replicas in the following format: \[partitionId\]:\[brokerId\]/);
});

t.test('a throttled replica list throttles on a broker the partitions it names with that broker', async (t) => {
  t.same([...(throttledPartitions('0:1,1:2,2:1', 1) as Set<number>)], [0, 2]);
  t.same([...(throttledPartitions('0:1,1:2', 3) as Set<number>)], []);
  t.equal(throttledPartitions(' * ', 3), '*', 'the wildcard: every partition, on every broker');
});
