import t from 'tap';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { decodeBatch, encodeBatch, type MetadataRecord } from '../../src/workers/raft/metadata/records.js';
import { cluster, commit } from './fixtures/cluster.js';

t.test('every record kind survives encode/decode', async (t) => {
  const id = '0123456789abcdef0123456789abcdef';
  const records: MetadataRecord[] = [
    { type: 'clusterId', clusterId: 'c1' },
    { type: 'registerBroker', brokerId: 3, brokerEpoch: 2 ** 40, incarnationId: id, host: 'h', port: 9092, listeners: [{ name: 'INTERNAL', host: 'h', port: 9092 }, { name: 'EXTERNAL', host: 'e.example', port: 19092 }], rack: 'r', fenced: true },
    { type: 'registerBroker', brokerId: 4, brokerEpoch: 0, incarnationId: id, host: 'h', port: 9093, listeners: [], rack: null, fenced: false },
    { type: 'fenceBroker', brokerId: 3, brokerEpoch: 7 },
    { type: 'unfenceBroker', brokerId: 3, brokerEpoch: 7 },
    { type: 'topic', name: 't', topicId: id },
    { type: 'partition', topicId: id, partition: 2, replicas: [1, 2, 3], isr: [1, 3], leader: 3, leaderEpoch: 4, partitionEpoch: 5 },
    { type: 'partitionChange', topicId: id, partition: 2, partitionEpoch: 5, leader: -1, isr: [1] },
    { type: 'config', topicId: id, name: 'retention.ms', value: '100' },
    { type: 'config', topicId: id, name: 'cleanup.policy', value: null },
    { type: 'removeTopic', topicId: id },
    { type: 'controllerActivation', controllerId: 2, term: 9 },
  ];
  t.same(decodeBatch(encodeBatch(records)), records);
  t.same(decodeBatch(new Uint8Array(0)), [], 'an empty entry is an empty batch');
});

t.test('snapshot round trip: image -> bytes -> equal image', async (t) => {
  const c = cluster(3);
  const d = c.controller.createTopics({
    topics: [
      { name: 'a', numPartitions: 4, replicationFactor: 2, configs: { 'retention.ms': '60000' } },
      { name: 'b', numPartitions: 1, replicationFactor: 3, configs: {} },
      { name: 'gone', numPartitions: 1, replicationFactor: 1, configs: {} },
    ],
    validateOnly: false,
  });
  commit(c.image, d.records);
  commit(c.image, c.controller.deleteTopics({ topics: [{ name: 'gone' }] }).records);
  commit(c.image, c.controller.tick(10_000));
  const restored = MetadataImage.fromSnapshot(c.image.encodeSnapshot());
  t.same(restored.toMetadataSnapshot(1), c.image.toMetadataSnapshot(1));
  t.same(restored.toRecords(), c.image.toRecords());
  t.equal(restored.offset, c.image.offset);
  t.same([...restored.brokers.entries()], [...c.image.brokers.entries()], 'broker epochs and incarnations too');
  t.equal(restored.toMetadataSnapshot(-1).topics.length, 2);
  t.ok(restored.toMetadataSnapshot(-1).brokers.some((b) => b.fenced), 'fencing survives');

  // The restored image keeps applying the log where the snapshot left off.
  const more = c.controller.createPartitions({ topics: [{ name: 'b', count: 2 }], validateOnly: false });
  commit(c.image, more.records);
  restored.apply(more.records, c.image.offset);
  t.same(restored.toMetadataSnapshot(1), c.image.toMetadataSnapshot(1));
});

t.test('published snapshot shape', async (t) => {
  const c = cluster(1);
  const d = c.controller.createTopics({ topics: [{ name: 'shape', numPartitions: 2, replicationFactor: 1, configs: { k: 'v' } }], validateOnly: false });
  const offset = commit(c.image, d.records);
  const s = c.image.toMetadataSnapshot(1);
  t.same(s, {
    clusterId: 'test-cluster',
    controllerId: 1,
    offset,
    brokers: [{ id: 1, host: '127.0.0.1', port: 9001, listeners: [], rack: null, fenced: false }],
    topics: [{
      name: 'shape',
      id: d.result[0]!.id,
      configs: { k: 'v' },
      partitions: [
        { partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], partitionEpoch: 0 },
        { partition: 1, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], partitionEpoch: 0 },
      ],
    }],
    scram: [],
    acls: [],
    brokerConfigs: {},
  });
  t.same(structuredClone(s), s, 'plain data for postMessage');
  s.topics[0]!.partitions[0]!.isr.push(99);
  t.same(c.image.topicsByName.get('shape')!.partitions[0]!.isr, [1], 'the published copy is detached from the image');
});

t.test('records naming unknown or deleted things change nothing', async (t) => {
  const image = new MetadataImage();
  const id = 'aa'.repeat(16);
  t.notOk(image.apply([{ type: 'partition', topicId: id, partition: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }], 1));
  t.notOk(image.apply([{ type: 'fenceBroker', brokerId: 1, brokerEpoch: 1 }], 2));
  t.ok(image.apply([{ type: 'topic', name: 'x', topicId: id }], 3));
  t.notOk(image.apply([{ type: 'topic', name: 'x', topicId: 'bb'.repeat(16) }], 4), 'a second topic of the same name is refused');
  t.notOk(image.apply([{ type: 'partition', topicId: id, partition: 1, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 }], 5), 'partitions come in order');
  t.ok(image.apply([{ type: 'clusterId', clusterId: 'one' }], 6));
  t.notOk(image.apply([{ type: 'clusterId', clusterId: 'two' }], 7), 'the cluster id never changes');
  t.equal(image.clusterId, 'one');
  t.equal(image.offset, 7);
});
