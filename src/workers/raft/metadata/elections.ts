/**
 * Leader elections an operator asks for (Kafka's ElectLeaders):
 *
 *   preferred  the first replica takes over when it is live and in the ISR
 *              (ELECTION_NOT_NEEDED when it leads already, PREFERRED_LEADER_NOT_AVAILABLE when it cannot)
 *   unclean    for a partition without a leader only: a live ISR member if there is one,
 *              else the first live replica, whose log becomes the partition's (the ISR is
 *              reset to it): records only the lost replicas held are gone
 *
 * With no partitions named every partition is considered, and those needing nothing are left
 * out of the answer, as Kafka does.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { ElectionResult, ElectLeadersRequest } from '../../../shared/metadata-types.js';
import type { Decision } from './records.js';
import type { MetadataImage, PartitionState } from './image.js';
import type { MetadataRecord } from './records.js';

export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

export function decideElectLeaders(image: MetadataImage, req: Pick<ElectLeadersRequest, 'electionType' | 'partitions'>): Decision<ElectionResult[]> {
  const records: MetadataRecord[] = [];
  const result: ElectionResult[] = [];
  const wanted = req.partitions ?? [...image.topicsById.values()].flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition })));
  for (const { topic, partition } of wanted) {
    const t = image.topicsByName.get(topic);
    const p = t?.partitions[partition];
    if (t === undefined || p === undefined) {
      result.push({ topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' });
      continue;
    }
    const outcome = req.electionType === ElectionType.UNCLEAN ? unclean(image, p) : preferred(image, p);
    if ('errorCode' in outcome) {
      if (req.partitions === null && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      result.push({ topic, partition, ...outcome });
      continue;
    }
    records.push({ type: 'partitionChange', topicId: t.id, partition, partitionEpoch: p.partitionEpoch, leader: outcome.leader, isr: outcome.isr });
    result.push({ topic, partition, errorCode: ErrorCode.NONE, errorMessage: null });
  }
  return { records, result };
}

type Outcome = { leader: number; isr: number[] } | { errorCode: number; errorMessage: string };

function preferred(image: MetadataImage, p: PartitionState): Outcome {
  const first = p.replicas[0]!;
  if (p.leader === first) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };
  if (!p.isr.includes(first) || !image.isLive(first)) {
    return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `Failed to elect leader: the preferred replica ${first} is not live and in sync.` };
  }
  return { leader: first, isr: p.isr };
}

function unclean(image: MetadataImage, p: PartitionState): Outcome {
  if (p.leader !== -1) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };
  const inSync = p.replicas.find((id) => p.isr.includes(id) && image.isLive(id));
  if (inSync !== undefined) return { leader: inSync, isr: p.isr };
  const any = p.replicas.find((id) => image.isLive(id));
  if (any === undefined) return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: 'No live replica can lead the partition.' };
  return { leader: any, isr: [any] };
}

/** Moves each partition's leadership to its first replica when that one is live and in sync (auto.leader.rebalance.enable). */
export function preferredLeaderChanges(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const topic of image.topicsById.values()) {
    for (const p of topic.partitions) {
      const preferred = p.replicas[0];
      if (preferred === undefined || p.leader === preferred || !p.isr.includes(preferred) || !image.isLive(preferred)) continue;
      out.push({ type: 'partitionChange', topicId: topic.id, partition: p.partition, partitionEpoch: p.partitionEpoch, leader: preferred, isr: p.isr });
    }
  }
  return out;
}
