/**
 * A live group moving between the classic and the consumer protocol (KIP-848's online upgrade
 * and downgrade, Kafka's convertToConsumerGroup / convertToClassicGroup), as
 * `group.consumer.migration.policy` allows:
 *
 * - upgrade: a consumer-protocol member joins a non-empty classic group of protocol type
 *   `consumer`. Each classic member becomes a consumer group member on the classic protocol,
 *   at the group's generation, owning (and targeted with) what its last assignment gave it;
 *   the new member's join then moves the group epoch on and the server-side assignor takes over.
 * - downgrade: the last consumer-protocol member leaves (or is fenced) while classic members
 *   remain. They form a Stable classic group at the group epoch, each with its target
 *   assignment, which then rebalances the classic way (a leader assigns).
 *
 * Either way the old form's records are deleted and the new form's written in one batch. Pure.
 */
import type { AssignorTopic } from './consumer-assignors.js';
import { add, currentValue, metadataValue, newConsumerGroup, type ConsumerGroup, type ConsumerMember } from './consumer-group.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, protocolVersion } from './consumer-protocol.js';
import {
  currentAssignmentRecord,
  groupEpochRecord,
  MemberStateCode,
  memberMetadataRecord,
  targetEpochRecord,
  targetMemberRecord,
  type Assignment,
} from './consumer-records.js';
import { EMPTY_BYTES, groupRecord, memberMetadata, newGroup, selectProtocol, type Group } from './group.js';
import { encodeGroupKey, type GroupRecord } from './records.js';

export const MIGRATION_POLICIES = ['bidirectional', 'upgrade', 'downgrade', 'disabled'] as const;
export type MigrationPolicy = (typeof MIGRATION_POLICIES)[number];

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export function upgradeAllowed(p: MigrationPolicy): boolean {
  return p === 'bidirectional' || p === 'upgrade';
}

export function downgradeAllowed(p: MigrationPolicy): boolean {
  return p === 'bidirectional' || p === 'downgrade';
}

/** Kafka's validateOnlineUpgrade: why the classic group cannot become a consumer group, or null. */
export function upgradeRefusal(classic: Group, policy: MigrationPolicy, maxSize: number): string | null {
  if (!upgradeAllowed(policy)) return `the online upgrade of group ${classic.groupId} is disabled (group.consumer.migration.policy=${policy})`;
  if (classic.protocolType !== CONSUMER_PROTOCOL_TYPE) return `group ${classic.groupId} does not use the consumer embedded protocol`;
  if (classic.members.size > maxSize) return `group ${classic.groupId} has more members than group.consumer.max.size`;
  return null;
}

/**
 * The consumer group a classic one becomes, and the records of the move; null when a member's
 * subscription or assignment does not read as the consumer protocol's.
 */
export function upgrade(classic: Group, topics: ReadonlyMap<string, AssignorTopic>, now: number): { group: ConsumerGroup; records: GroupRecord[] } | null {
  const group = newConsumerGroup(classic.groupId);
  group.groupEpoch = group.assignmentEpoch = classic.generationId;
  // The subscribed topics are learned on the next event without counting as a change.
  group.topicsSeen = null;
  try {
    for (const m of classic.members.values()) {
      // Mid-rebalance the group may not have chosen a protocol yet: any of the member's says the same.
      const subscription = decodeSubscription(memberMetadata(m, classic.protocolName ?? m.protocols[0]?.name ?? null));
      const assigned: Assignment = new Map();
      for (const t of decodeAssignment(m.assignment)) {
        const topic = topics.get(t.topic);
        if (topic) for (const p of t.partitions) if (p < topic.partitions) add(assigned, topic.id, p);
      }
      const member: ConsumerMember = {
        memberId: m.memberId,
        instanceId: m.groupInstanceId,
        rackId: subscription.rackId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: [...subscription.topics].sort(),
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        serverAssignor: null,
        memberEpoch: classic.generationId,
        previousMemberEpoch: classic.generationId,
        state: MemberStateCode.STABLE,
        assigned,
        pendingRevocation: new Map(),
        expiresAt: now + m.sessionTimeoutMs,
        revokeBy: null,
        classic: { sessionTimeoutMs: m.sessionTimeoutMs, protocols: m.protocols },
        classicDeadline: null,
      };
      group.members.set(member.memberId, member);
      group.target.set(member.memberId, assigned);
      if (member.instanceId !== null) group.staticMembers.set(member.instanceId, member.memberId);
    }
  } catch {
    return null;
  }
  const id = group.groupId;
  const records: GroupRecord[] = [{ key: encodeGroupKey(id), value: null }];
  for (const m of group.members.values()) records.push(memberMetadataRecord(id, m.memberId, metadataValue(m)));
  records.push(groupEpochRecord(id, group.groupEpoch));
  for (const [memberId, a] of group.target) records.push(targetMemberRecord(id, memberId, a));
  records.push(targetEpochRecord(id, group.assignmentEpoch));
  for (const m of group.members.values()) records.push(currentAssignmentRecord(id, m.memberId, currentValue(m)));
  return { group, records };
}

/**
 * Kafka's validateOnlineDowngradeWithFencedMember: would `leaving` going leave only classic
 * members behind (at least one)?
 */
export function downgradeWanted(group: ConsumerGroup, leaving: ConsumerMember, policy: MigrationPolicy): boolean {
  if (leaving.classic !== null || group.members.size <= 1 || !downgradeAllowed(policy)) return false;
  for (const m of group.members.values()) if (m !== leaving && m.classic === null) return false;
  return true;
}

/**
 * The classic group the consumer group becomes without `leavingId`, and the records of the
 * move. Topic ids no longer in the cluster are left out of the assignments.
 */
export function downgrade(group: ConsumerGroup, leavingId: string, topicNames: ReadonlyMap<string, string>, now: number): { group: Group; records: GroupRecord[] } {
  const id = group.groupId;
  const classic = newGroup(id, now);
  classic.state = 'Stable';
  classic.generationId = group.groupEpoch;
  classic.protocolType = CONSUMER_PROTOCOL_TYPE;
  for (const m of group.members.values()) {
    if (m.memberId === leavingId || m.classic === null) continue;
    const assigned = [...(group.target.get(m.memberId) ?? new Map<string, number[]>())]
      .filter(([topicId]) => topicNames.has(topicId))
      .map(([topicId, partitions]) => ({ topic: topicNames.get(topicId)!, partitions }));
    const version = Math.min(protocolVersion(m.classic.protocols[0]?.metadata ?? EMPTY_BYTES), 3);
    classic.members.set(m.memberId, {
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.classic.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      protocols: m.classic.protocols,
      assignment: encodeAssignment(version, assigned),
      joinReply: null,
      syncReply: null,
      expiresAt: now + m.classic.sessionTimeoutMs,
    });
    if (m.instanceId !== null) classic.staticMembers.set(m.instanceId, m.memberId);
  }
  classic.protocolName = selectProtocol(classic);
  const records: GroupRecord[] = [];
  for (const memberId of group.members.keys()) {
    records.push(currentAssignmentRecord(id, memberId, null), targetMemberRecord(id, memberId, null), memberMetadataRecord(id, memberId, null));
  }
  records.push(targetEpochRecord(id, null), groupEpochRecord(id, null), groupRecord(classic, null));
  return { group: classic, records };
}
