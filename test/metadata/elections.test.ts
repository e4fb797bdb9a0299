// ElectLeaders decisions: preferred elections return leadership to the first replica only
// when it is live and in sync; unclean elections only touch leaderless partitions and prefer
// an in-sync replica to one that is not.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { cluster, commit } from './fixtures/cluster.js';

const PREFERRED = 0;
const UNCLEAN = 1;

function setup() {
  const c = cluster(3);
  commit(c.image, c.controller.createTopics({ topics: [{ name: 'p', numPartitions: -1, replicationFactor: -1, assignments: [{ partition: 0, replicas: [1, 2, 3] }], configs: {} }], validateOnly: false }).records);
  const part = () => c.image.topicsByName.get('p')!.partitions[0]!;
  const change = (leader: number, isr: number[]) => commit(c.image, [{ type: 'partitionChange', topicId: c.image.topicsByName.get('p')!.id, partition: 0, partitionEpoch: part().partitionEpoch, leader, isr }]);
  const fence = (id: number) => commit(c.image, [{ type: 'fenceBroker', brokerId: id, brokerEpoch: c.image.brokers.get(id)!.epoch }]);
  return { ...c, part, change, fence };
}

t.test('preferred election', async (t) => {
  const c = setup();
  const one = [{ topic: 'p', partition: 0 }];
  t.same(c.controller.electLeaders({ electionType: PREFERRED, partitions: one }).result.map((r) => r.errorCode), [ErrorCode.ELECTION_NOT_NEEDED]);
  t.same(c.controller.electLeaders({ electionType: PREFERRED, partitions: null }).result, [], 'all partitions: the ones needing nothing are left out');
  c.change(2, [2, 3]);
  t.same(c.controller.electLeaders({ electionType: PREFERRED, partitions: one }).result.map((r) => r.errorCode), [ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE], 'not while the preferred replica is out of sync');
  c.change(2, [1, 2, 3]);
  const d = c.controller.electLeaders({ electionType: PREFERRED, partitions: [...one, { topic: 'p', partition: 7 }] });
  t.same(d.result.map((r) => r.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  const epoch = c.part().leaderEpoch;
  commit(c.image, d.records);
  t.same([c.part().leader, c.part().leaderEpoch, c.part().isr], [1, epoch + 1, [1, 2, 3]], 'broker 1 leads again, in a new epoch');
});

t.test('unclean election', async (t) => {
  const c = setup();
  const one = [{ topic: 'p', partition: 0 }];
  t.same(c.controller.electLeaders({ electionType: UNCLEAN, partitions: one }).result.map((r) => r.errorCode), [ErrorCode.ELECTION_NOT_NEEDED], 'a partition with a leader is left alone');
  c.change(-1, [1]);
  c.fence(1);
  const d = c.controller.electLeaders({ electionType: UNCLEAN, partitions: one });
  t.same(d.result.map((r) => r.errorCode), [ErrorCode.NONE]);
  commit(c.image, d.records);
  t.same([c.part().leader, c.part().isr], [2, [2]], 'the first live replica leads, alone in the ISR');
  c.fence(2);
  c.fence(3);
  c.change(-1, [2]);
  t.same(c.controller.electLeaders({ electionType: UNCLEAN, partitions: one }).result.map((r) => r.errorCode), [ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE], 'no live replica, no leader');
});
