/**
 * What goes in and out of the ConsumerGroupStateMachine: its options, the ConsumerGroupHeartbeat
 * it takes and answers, ConsumerGroupDescribe's answer, and the effects each event returns.
 * Pure types and helpers.
 */
import type { AssignorTopic } from './consumer-assignors.js';
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
