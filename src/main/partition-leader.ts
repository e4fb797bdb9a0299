/**
 * Whether this broker leads a partition for a request, and what to tell a client that asked
 * the wrong broker.
 *
 * The `currentLeader` tagged field of Produce (v10+) and Fetch (v12+) answers: filled only for
 * NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH, as Kafka does, so a client learns the new leader
 * without a Metadata round trip; otherwise left at its default and not sent at all. The
 * response's `nodeEndpoints` (Produce v10+, Fetch v16+) then says where each leader so named
 * listens (KIP-951), since the client may not know that broker yet.
 */
import { ErrorCode } from '../shared/errors.js';
import { leaderEpochError } from '../shared/leader-epoch.js';
import type { HostPort, PartitionMetadata } from '../shared/metadata-types.js';

const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

export function currentLeader(errorCode: number, meta: PartitionMetadata | undefined): { leaderId: number; leaderEpoch: number } {
  if (!meta || (errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && errorCode !== ErrorCode.FENCED_LEADER_EPOCH)) return NO_LEADER;
  return { leaderId: meta.leader, leaderEpoch: meta.leaderEpoch };
}

/**
 * The error for a Fetch or ListOffsets part this broker cannot serve as leader: unknown
 * partition, another leader, or a client whose leader epoch is older (fenced) or newer
 * (unknown yet) than ours. -1 epochs skip the epoch check, as Kafka's clients send them.
 */
export function leaderError(meta: PartitionMetadata | undefined, nodeId: number, currentLeaderEpoch: number): number {
  if (!meta) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  if (meta.leader !== nodeId) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  return leaderEpochError(meta.leaderEpoch, currentLeaderEpoch);
}

/** The endpoints of the leaders that `currentLeader` fields name, each once, in id order. */
export function leaderEndpoints(
  leaders: Iterable<{ leaderId: number }>,
  endpoint: (id: number) => (HostPort & { rack: string | null }) | undefined,
): { nodeId: number; host: string; port: number; rack: string | null }[] {
  const ids = new Set<number>();
  for (const l of leaders) if (l.leaderId >= 0) ids.add(l.leaderId);
  return [...ids].sort((a, b) => a - b).flatMap((id) => {
    const e = endpoint(id);
    return e === undefined ? [] : [{ nodeId: id, host: e.host, port: e.port, rack: e.rack }];
  });
}
