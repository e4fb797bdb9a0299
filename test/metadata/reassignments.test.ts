// Partition reassignment decisions: a target with new replicas starts a reassignment (the new
// ones added, the old ones kept until then), the ISR change that takes in the last new replica
// finishes it (the old ones leave, leadership moves off a removed leader), a cancel restores
// the replicas, and the moving replica set survives a snapshot.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { cluster, commit } from './fixtures/cluster.js';

function setup() {
  const c = cluster(4);
  commit(c.image, c.controller.createTopics({ topics: [{ name: 'm', numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, replicas: [1, 2, 3] }], configs: {} }], validateOnly: false }).records);
  const part = () => c.image.topicsByName.get('m')!.partitions[0]!;
  const reassign = (replicas: number[] | null) => {
    const d = c.controller.alterReassignments({ partitions: [{ topic: 'm', partition: 0, replicas }] });
    commit(c.image, d.records);
    return d.result[0]!;
  };
  const isr = (members: number[]) => {
    const p = part();
    const d = c.controller.alterPartition({ brokerId: p.leader, brokerEpoch: c.image.brokers.get(p.leader)!.epoch, topicId: c.image.topicsByName.get('m')!.id, partition: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: members });
    commit(c.image, d.records);
    return d.result;
  };
  return { ...c, part, reassign, isr };
}

t.test('a reassignment adds, waits for the ISR, then removes', async (t) => {
  const c = setup();
  t.equal(c.reassign([2, 3, 4]).errorCode, ErrorCode.NONE);
  t.same([c.part().replicas, c.part().reassignment, c.part().isr, c.part().leader], [[2, 3, 4, 1], { adding: [4], removing: [1] }, [1, 2, 3], 1], 'broker 4 added, broker 1 still a replica and the leader');
  const restored = MetadataImage.fromSnapshot(c.image.encodeSnapshot()).topicsByName.get('m')!.partitions[0]!;
  t.same(restored.reassignment, { adding: [4], removing: [1] }, 'the moving replica set survives a snapshot');
  const epoch = c.part().leaderEpoch;
  const r = c.isr([1, 2, 3, 4]);
  t.equal(r.errorCode, ErrorCode.NONE);
  t.same([c.part().replicas, c.part().reassignment, c.part().isr, c.part().leader, c.part().leaderEpoch], [[2, 3, 4], undefined, [2, 3, 4], 2, epoch + 1], 'finished: broker 1 gone, broker 2 leads');
  t.same([r.partition!.replicas, r.partition!.leader], [[2, 3, 4], 2], 'the ISR change answers with the final state');
});

t.test('cancel, replace, refuse, finish at once', async (t) => {
  const c = setup();
  t.equal(c.reassign(null).errorCode, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  c.reassign([1, 2, 4]);
  c.reassign([4, 3, 2]);
  t.same([c.part().replicas, c.part().reassignment], [[4, 3, 2, 1], { adding: [4], removing: [1] }], 'a new target counts from the replicas before the first');
  c.isr([1, 2, 3]);
  t.equal(c.reassign(null).errorCode, ErrorCode.NONE);
  t.same([c.part().replicas, c.part().reassignment, c.part().isr, c.part().leader], [[3, 2, 1], undefined, [1, 2, 3], 1], 'cancelled: the same replicas (in the order of the moving set, as Kafka keeps them), the same leader');
  t.equal(c.reassign([1, 9]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  t.equal(c.reassign([1, 1]).errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  t.equal(c.reassign([3, 2]).errorCode, ErrorCode.NONE);
  t.same([c.part().replicas, c.part().reassignment, c.part().isr, c.part().leader], [[3, 2], undefined, [2, 3], 3], 'a target already in sync finishes at once');
});
