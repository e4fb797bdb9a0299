/**
 * Members on the classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup with protocol
 * type `consumer`) in a consumer group, as Kafka's GroupMetadataManager serves them
 * (classicGroupJoinToConsumerGroup and its Sync/Heartbeat/Leave siblings). The server-side
 * assignor assigns them like any member; the protocol carries it this way:
 *
 * - JoinGroup updates the member's subscription (read from its protocol metadata) and moves it
 *   one reconciliation step, as a heartbeat would, with the partitions its metadata says it
 *   owns (none for an eager client, which has given up everything before rejoining). The
 *   generation it gets is its member epoch; it never leads.
 * - SyncGroup hands it its assigned partitions in the consumer protocol's layout.
 * - Heartbeat answers REBALANCE_IN_PROGRESS whenever it should rejoin: the group epoch moved
 *   past its epoch, it has partitions to give up, or partitions it waited for are free now.
 * - It must send SyncGroup within its rebalance timeout of a join, and rejoin within it once
 *   told to; else it is fenced, as it is after its own session timeout without a heartbeat.
 */
import { ErrorCode } from '../errors.js';
import type { AssignorTopic } from './consumer-assignors.js';
import type { HeartbeatRequest } from './consumer-group-io.js';
import type { ConsumerGroup, ConsumerMember } from './consumer-group.js';
import { decodeSubscription, encodeAssignment, protocolVersion } from './consumer-protocol.js';
import { waitsOnUnreleased } from './consumer-reconciliation.js';
import { MemberStateCode, type ClassicMemberMetadata } from './consumer-records.js';
import { CONSUMER_PROTOCOL_TYPE } from './group-conversion.js';
import { joinError, syncError, type JoinInput, type JoinResult, type MemberIdentity, type SyncInput, type SyncResult } from './group-io.js';

/** What the consumer group machine lends the classic members' handling. */
export interface ConsumerGroupCore {
  newMemberId(): string;
  maxSize(): number;
  topics(): ReadonlyMap<string, AssignorTopic>;
  /** Gets or creates the member (a static one may replace its predecessor): or an error code. */
  admit(now: number, group: ConsumerGroup, memberId: string, instanceId: string | null): ConsumerMember | number;
  /** Applies a heartbeat's worth of member data, recomputes the target and reconciles. */
  update(now: number, group: ConsumerGroup, member: ConsumerMember, req: HeartbeatRequest, classic?: ClassicMemberMetadata): void;
  removeMember(now: number, group: ConsumerGroup, member: ConsumerMember): void;
}

/** Kafka's ConsumerGroup.supportsClassicProtocols: a protocol every classic member has too. */
export function supportsClassic(group: ConsumerGroup, protocolType: string, protocols: { name: string }[]): boolean {
  if (protocolType !== CONSUMER_PROTOCOL_TYPE || protocols.length === 0) return false;
  const classic = [...group.members.values()].filter((m) => m.classic !== null);
  return protocols.some((p) => classic.every((m) => m.classic!.protocols.some((q) => q.name === p.name)));
}

export function classicJoin(core: ConsumerGroupCore, now: number, group: ConsumerGroup, j: JoinInput): JoinResult {
  if (!supportsClassic(group, j.protocolType, j.protocols)) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, j.memberId);
  const memberId = j.memberId === '' ? core.newMemberId() : j.memberId;
  if (group.members.size >= core.maxSize() && !group.members.has(memberId)) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, j.memberId);
  if (j.memberId === '' && j.requireKnownMemberId && j.groupInstanceId === null) return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
  let subscription;
  try {
    subscription = decodeSubscription(j.protocols[0]!.metadata);
  } catch {
    return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, j.memberId);
  }
  const existing = group.members.get(memberId);
  if (existing && existing.classic === null) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, j.memberId);
  if (j.groupInstanceId !== null && j.memberId !== '') {
    const held = group.staticMembers.get(j.groupInstanceId);
    if (held !== undefined && held !== memberId) return joinError(ErrorCode.FENCED_INSTANCE_ID, j.memberId);
  }
  const admitted = existing ?? core.admit(now, group, memberId, j.groupInstanceId);
  if (typeof admitted === 'number') return joinError(admitted, j.memberId);
  const member = admitted;
  const topics = core.topics();
  const owned = subscription.ownedPartitions.flatMap((t) => {
    const topic = topics.get(t.topic);
    return topic ? [{ topicId: topic.id, partitions: t.partitions }] : [];
  });
  core.update(now, group, member, {
    groupId: group.groupId,
    memberId: member.memberId,
    memberEpoch: member.memberEpoch,
    instanceId: j.groupInstanceId,
    rackId: subscription.rackId,
    rebalanceTimeoutMs: j.rebalanceTimeoutMs,
    subscribedTopicNames: subscription.topics,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: owned,
    clientId: j.clientId,
    clientHost: j.clientHost,
  }, { sessionTimeoutMs: j.sessionTimeoutMs, protocols: j.protocols });
  // Classic members have no rebalance timer (they revoke by rejoining), only the sync timeout.
  member.revokeBy = null;
  member.classicDeadline = now + member.rebalanceTimeoutMs;
  member.expiresAt = now + j.sessionTimeoutMs;
  return {
    errorCode: ErrorCode.NONE,
    generationId: member.memberEpoch,
    protocolType: CONSUMER_PROTOCOL_TYPE,
    protocolName: j.protocols[0]!.name,
    leader: '',
    skipAssignment: false,
    memberId: member.memberId,
    members: [],
  };
}

export function classicSync(core: ConsumerGroupCore, now: number, group: ConsumerGroup, s: SyncInput): SyncResult {
  const found = classicMember(group, s.memberId, s.groupInstanceId);
  if (typeof found === 'number') return syncError(found);
  const m = found;
  if (s.generationId !== m.memberEpoch) return syncError(ErrorCode.ILLEGAL_GENERATION);
  const protocol = m.classic!.protocols[0]!;
  if ((s.protocolType !== null && s.protocolType !== CONSUMER_PROTOCOL_TYPE) || (s.protocolName !== null && s.protocolName !== protocol.name)) {
    return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  }
  if (group.groupEpoch > m.memberEpoch && m.state !== MemberStateCode.UNREVOKED_PARTITIONS) {
    m.classicDeadline ??= now + m.rebalanceTimeoutMs;
    return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
  }
  m.classicDeadline = null;
  m.expiresAt = now + m.classic!.sessionTimeoutMs;
  const names = new Map([...core.topics()].map(([name, t]) => [t.id, name]));
  const assigned = [...m.assigned].filter(([id]) => names.has(id)).map(([id, partitions]) => ({ topic: names.get(id)!, partitions }));
  const assignment = encodeAssignment(Math.min(protocolVersion(protocol.metadata), 3), assigned);
  return { errorCode: ErrorCode.NONE, protocolType: s.protocolType, protocolName: s.protocolName, assignment };
}

export function classicHeartbeat(now: number, group: ConsumerGroup, memberId: string, instanceId: string | null, generationId: number): number {
  const found = classicMember(group, memberId, instanceId);
  if (typeof found === 'number') return found;
  const m = found;
  if (generationId !== m.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
  m.expiresAt = now + m.classic!.sessionTimeoutMs;
  const rejoin =
    m.memberEpoch < group.groupEpoch ||
    m.state === MemberStateCode.UNREVOKED_PARTITIONS ||
    (m.state === MemberStateCode.UNRELEASED_PARTITIONS && !waitsOnUnreleased(group, m));
  if (!rejoin) return ErrorCode.NONE;
  m.classicDeadline ??= now + m.rebalanceTimeoutMs;
  return ErrorCode.REBALANCE_IN_PROGRESS;
}

/** LeaveGroup for classic members: one error code per member named. */
export function classicLeave(core: ConsumerGroupCore, now: number, group: ConsumerGroup, members: MemberIdentity[]): (MemberIdentity & { errorCode: number })[] {
  return members.map((id) => {
    let found: ConsumerMember | number;
    if (id.groupInstanceId === null) found = classicMember(group, id.memberId, null);
    else {
      const held = group.staticMembers.get(id.groupInstanceId);
      // An admin may name only the instance id.
      found = held === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : classicMember(group, id.memberId === '' ? held : id.memberId, id.groupInstanceId);
    }
    if (typeof found === 'number') return { ...id, errorCode: found };
    core.removeMember(now, group, found);
    return { memberId: found.memberId, groupInstanceId: id.groupInstanceId, errorCode: ErrorCode.NONE };
  });
}

/** Kafka's validateConsumerGroupMember and throwIfMemberDoesNotUseClassicProtocol. */
function classicMember(group: ConsumerGroup, memberId: string, instanceId: string | null): ConsumerMember | number {
  if (instanceId !== null) {
    const held = group.staticMembers.get(instanceId);
    if (held === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (held !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
  }
  const m = group.members.get(memberId);
  return m && m.classic !== null ? m : ErrorCode.UNKNOWN_MEMBER_ID;
}
