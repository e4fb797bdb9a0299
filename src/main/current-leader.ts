/**
 * The `currentLeader` tagged field of Produce (v10+) and Fetch (v12+) answers: filled only for
 * NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH, as Kafka does, so a client learns the new leader
 * without a Metadata round trip; otherwise left at its default and not sent at all.
 */
import { ErrorCode } from '../shared/errors.js';
import type { PartitionMetadata } from '../shared/metadata-types.js';

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

export function currentLeader(errorCode: number, meta: PartitionMetadata | undefined): { leaderId: number; leaderEpoch: number } {
  if (!meta || (errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && errorCode !== ErrorCode.FENCED_LEADER_EPOCH)) return NO_LEADER;
  return { leaderId: meta.leader, leaderEpoch: meta.leaderEpoch };
}
