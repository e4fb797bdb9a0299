/**
 * What goes in and out of the ConsumerGroupStateMachine: its options, the ConsumerGroupHeartbeat
 * it takes and answers, ConsumerGroupDescribe's answer, and the effects each event returns.
 * Pure types and helpers.
 */
import { ErrorCode } from '../errors.js';
import type { AssignorTopic } from './consumer-assignors.js';
import { groupState, toWire, type ConsumerGroup } from './consumer-group.js';
import type { Assignment } from './consumer-records.js';
import type { MigrationPolicy } from './group-conversion.js';
import type { JoinResult, LeaveResult, SyncResult, Write } from './group-io.js';
import type { Group } from './group.js';

export interface ConsumerGroupOptions {
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  /** group.consumer.assignors: the first is used unless the members ask for another. */
  assignors: string[];
  /** group.consumer.migration.policy */
  migrationPolicy: MigrationPolicy;
  /** group.consumer.max.size */
  maxSize: number;
  /** A member id for a v0 client that leaves it to the coordinator. */
  newMemberId(): string;
  /** The cluster's topics now: name -> id (Kafka's uuid string) and partition count. */
  topics(): ReadonlyMap<string, AssignorTopic>;
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
}

export interface HeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null;
}

/**
 * What the classic machine holds under the group id: nothing, an empty group (a consumer group
 * takes it over), or a live group (which a consumer group may take over with its members).
 */
export type ClassicPresence = 'absent' | 'empty' | Group;

export interface DescribedConsumerGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    assignment: { topicPartitions: { topicId: string; topicName: string; partitions: number[] }[] };
    targetAssignment: { topicPartitions: { topicId: string; topicName: string; partitions: number[] }[] };
  }[];
}

export interface ConsumerReply {
  to: number;
  result: HeartbeatResult | { errorCode: number } | JoinResult | SyncResult | LeaveResult;
}

export interface ConsumerEffects {
  replies: ConsumerReply[];
  writes: Write[];
  /** Live classic groups now consumer groups: the classic machine lets them go. */
  upgraded: string[];
  /** Consumer groups now classic ones (their records written here): the classic machine takes them on. */
  downgraded: Group[];
}

export function noEffects(): ConsumerEffects {
  return { replies: [], writes: [], upgraded: [], downgraded: [] };
}


export function heartbeatError(errorCode: number, errorMessage: string | null = null): HeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
}

export const LEAVE = -1;
export const STATIC_LEAVE = -2;

/** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid: what is wrong with the request, or null. */
export function checkRequest(req: HeartbeatRequest): string | null {
  if (req.groupId === '') return 'GroupId can not be empty';
  if (req.memberEpoch < STATIC_LEAVE) return `MemberEpoch ${req.memberEpoch} is invalid`;
  if (req.memberEpoch === STATIC_LEAVE && req.instanceId === null) return 'InstanceId can not be null when leaving with MemberEpoch -2';
  if (req.memberEpoch !== 0 && req.memberId === '') return 'MemberId can not be empty';
  if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs === -1) return 'RebalanceTimeoutMs must be provided when joining';
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return 'SubscribedTopicNames or SubscribedTopicRegex must be set when joining';
    if (req.topicPartitions !== null && req.topicPartitions.length > 0) return 'TopicPartitions must be empty when joining';
  }
  if (req.subscribedTopicRegex !== null) {
    try {
      new RegExp(req.subscribedTopicRegex);
    } catch {
      return `SubscribedTopicRegex ${req.subscribedTopicRegex} is not a valid regular expression`;
    }
  }
  return null;
}

/** ConsumerGroupDescribe's answer for a group. */
export function describeGroup(group: ConsumerGroup, topics: ReadonlyMap<string, AssignorTopic>, assignorName: string): DescribedConsumerGroup {
  const names = new Map([...topics].map(([name, t]) => [t.id, name]));
  const named = (a: Assignment) => ({
    topicPartitions: toWire(a).map((t) => ({ topicId: t.topicId, topicName: names.get(t.topicId) ?? '', partitions: t.partitions })),
  });
  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    groupId: group.groupId,
    groupState: groupState(group),
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: assignorName,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: named(m.assigned),
      targetAssignment: named(group.target.get(m.memberId) ?? new Map()),
    })),
  };
}
