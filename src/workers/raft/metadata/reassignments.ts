/**
 * Partition reassignment (Kafka's AlterPartitionReassignments), in Kafka's steps:
 *
 * 1. start   the replica set becomes target + the replicas being removed; the new ones
 *            (`adding`) get the partition, fetch from the leader and join the ISR once they
 *            reach its high watermark (the leader proposes that, as for any follower)
 * 2. finish  once every target replica is in the ISR: the replica set becomes the target,
 *            the removed replicas leave the ISR, and leadership moves to a target replica if
 *            the leader was being removed. A target already in sync finishes at once.
 * 3. cancel  (a null target) the replica set returns to what it was, the added ones leave
 *
 * A new target for a partition being reassigned replaces the old one, counted from the
 * replicas the partition had before it. Nothing acknowledged is lost: the replicas removed
 * only go once every target replica holds the high watermark.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { AlterReassignmentsRequest, ReassignmentResult } from '../../../shared/metadata-types.js';
import type { Decision } from './records.js';
import type { MetadataImage, PartitionState } from './image.js';
import type { MetadataRecord, PartitionChangeRecord } from './records.js';

export function decideAlterReassignments(image: MetadataImage, req: Pick<AlterReassignmentsRequest, 'partitions'>): Decision<ReassignmentResult[]> {
  const records: MetadataRecord[] = [];
  const result = req.partitions.map(({ topic, partition, replicas }) => {
    const t = image.topicsByName.get(topic);
    const p = t?.partitions[partition];
    const answer = (errorCode: number, errorMessage: string | null): ReassignmentResult => ({ topic, partition, errorCode, errorMessage });
    if (t === undefined || p === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.');
    const outcome = replicas === null ? cancel(image, t.id, p) : start(image, t.id, p, replicas);
    if (typeof outcome === 'string') {
      return answer(replicas === null ? ErrorCode.NO_REASSIGNMENT_IN_PROGRESS : ErrorCode.INVALID_REPLICA_ASSIGNMENT, outcome);
    }
    if (outcome !== null) records.push(outcome);
    return answer(ErrorCode.NONE, null);
  });
  return { records, result };
}

/** The replicas a partition had before its reassignment started. */
function original(p: PartitionState): number[] {
  const adding = p.reassignment?.adding ?? [];
  return p.replicas.filter((r) => !adding.includes(r));
}

function start(image: MetadataImage, topicId: string, p: PartitionState, target: number[]): PartitionChangeRecord | null | string {
  if (target.length === 0) return 'The replica list is empty.';
  if (new Set(target).size !== target.length) return `Duplicate brokers in the replica list [${target.join(', ')}].`;
  const unknown = target.find((id) => !image.brokers.has(id));
  if (unknown !== undefined) return `Broker ${unknown} is not registered.`;
  const from = original(p);
  if (p.reassignment === undefined && sameOrder(from, target)) return null;
  const adding = target.filter((r) => !from.includes(r));
  const removing = from.filter((r) => !target.includes(r));
  const replicas = [...target, ...removing];
  const isr = p.isr.filter((r) => replicas.includes(r));
  const change: PartitionChangeRecord = {
    type: 'partitionChange', topicId, partition: p.partition, partitionEpoch: p.partitionEpoch,
    leader: p.leader, isr, replicaSet: { replicas, adding, removing },
  };
  return finished(image, change, target) ?? change;
}

function cancel(image: MetadataImage, topicId: string, p: PartitionState): PartitionChangeRecord | string {
  if (p.reassignment === undefined) return 'No reassignment is in progress for the partition.';
  const replicas = original(p);
  const isr = p.isr.filter((r) => replicas.includes(r));
  if (isr.length === 0) return 'Cancelling would leave the partition without an in-sync replica.';
  return {
    type: 'partitionChange', topicId, partition: p.partition, partitionEpoch: p.partitionEpoch,
    leader: leaderAmong(image, p.leader, replicas, isr), isr, replicaSet: { replicas, adding: [], removing: [] },
  };
}

/**
 * The change that ends a reassignment once `change` holds every target replica in the ISR
 * (the same change, carrying the final replica set), or null while some are still catching up.
 */
export function finished(image: MetadataImage, change: PartitionChangeRecord, target: number[]): PartitionChangeRecord | null {
  if (!target.every((r) => change.isr.includes(r))) return null;
  const isr = change.isr.filter((r) => target.includes(r));
  return { ...change, isr, leader: leaderAmong(image, change.leader, target, isr), replicaSet: { replicas: target, adding: [], removing: [] } };
}

/** The target replicas of a partition being reassigned. */
export function targetOf(p: PartitionState): number[] | null {
  if (p.reassignment === undefined) return null;
  const removing = p.reassignment.removing;
  return p.replicas.filter((r) => !removing.includes(r));
}

/** The current leader if it stays a replica, else the first live in-sync replica in replica order. */
function leaderAmong(image: MetadataImage, leader: number, replicas: number[], isr: number[]): number {
  if (leader !== -1 && replicas.includes(leader)) return leader;
  return replicas.find((r) => isr.includes(r) && image.isLive(r)) ?? -1;
}

function sameOrder(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i] === x);
}
