/**
 * AlterPartition: a partition leader's ISR change, checked against the committed partition
 * (Kafka's ReplicationControlManager.alterPartition): the leader's broker and leader epochs,
 * the partition epoch, and members that are replicas and live when they join. An ISR that
 * takes in the last replica a reassignment waits for also finishes the reassignment.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { AlterPartitionRequest, AlterPartitionResult } from '../../../shared/metadata-types.js';
import type { MetadataImage, PartitionState } from './image.js';
import { finished, targetOf } from './reassignments.js';
import type { Decision, PartitionChangeRecord } from './records.js';
import { sameMembers } from './replica-sets.js';

export function decideAlterPartition(image: MetadataImage, req: Omit<AlterPartitionRequest, 'op' | 'timeoutMs'>): Decision<AlterPartitionResult> {
  const fail = (errorCode: number, errorMessage: string, partition?: PartitionState): Decision<AlterPartitionResult> => ({
    records: [],
    result: { errorCode, errorMessage, ...(partition === undefined ? {} : { partition: copyPartition(partition) }) },
  });
  const topic = image.topicsById.get(req.topicId);
  if (topic === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_ID, 'Unknown topic id.');
  const p = topic.partitions[req.partition];
  if (p === undefined) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Unknown partition.');
  if (image.brokers.get(req.brokerId)?.epoch !== req.brokerEpoch) {
    return fail(ErrorCode.STALE_BROKER_EPOCH, 'Stale broker epoch.', p);
  }
  if (p.leader !== req.brokerId || req.leaderEpoch > p.leaderEpoch) {
    return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'The broker does not lead this partition.', p);
  }
  if (req.leaderEpoch < p.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH, 'Stale leader epoch.', p);
  if (req.partitionEpoch !== p.partitionEpoch) return fail(ErrorCode.INVALID_UPDATE_VERSION, 'Stale partition epoch.', p);
  const isr = [...new Set(req.isr)];
  if (!isr.includes(p.leader) || isr.some((id) => !p.replicas.includes(id))) {
    return fail(ErrorCode.INVALID_REQUEST, 'The ISR must hold the leader and only replicas of the partition.', p);
  }
  const ineligible = isr.find((id) => !p.isr.includes(id) && !image.isLive(id));
  if (ineligible !== undefined) return fail(ErrorCode.INELIGIBLE_REPLICA, `Broker ${ineligible} is fenced.`, p);
  if (sameMembers(isr, p.isr)) return { records: [], result: { errorCode: ErrorCode.NONE, errorMessage: null, partition: copyPartition(p) } };
  let change: PartitionChangeRecord = { type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: p.leader, isr };
  // The ISR that takes in the last replica a reassignment waits for also finishes it.
  const target = targetOf(p);
  if (target !== null) change = finished(image, change, target) ?? change;
  const after: PartitionState = { ...copyPartition(p), leader: change.leader, isr: change.isr, partitionEpoch: p.partitionEpoch + 1 };
  if (change.leader !== p.leader) after.leaderEpoch += 1;
  if (change.replicaSet) {
    after.replicas = [...change.replicaSet.replicas];
    delete after.reassignment;
  }
  return { records: [change], result: { errorCode: ErrorCode.NONE, errorMessage: null, partition: after } };
}

function copyPartition(p: PartitionState): PartitionState {
  return { ...p, replicas: [...p.replicas], isr: [...p.isr] };
}
