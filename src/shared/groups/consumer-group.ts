/**
 * A consumer group (the consumer protocol, KIP-848) as the coordinator keeps it, and the pure
 * helpers on partition sets the state machine reconciles with.
 *
 * Epochs: the group epoch moves whenever what the assignor sees changes (a member joins or
 * leaves, a subscription or a subscribed topic's partitions change); the target assignment is
 * computed for a group epoch (its assignment epoch); a member's epoch is the assignment epoch
 * it has caught up with. A member moves towards its target by first giving up (revoking) what
 * the target takes away, then receiving what another member has released.
 */
import { MemberStateCode, type Assignment, type ClassicMemberMetadata, type CurrentAssignmentValue, type MemberMetadataValue } from './consumer-records.js';

export type MemberState = 0 | 1 | 2;
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export interface ConsumerMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /** -2 while a static member is away (it keeps its partitions until its session ends). */
  memberEpoch: number;
  previousMemberEpoch: number;
  state: MemberState;
  assigned: Assignment;
  pendingRevocation: Assignment;
  /** Dropped unless it heartbeats by then. */
  expiresAt: number;
  /** Fenced unless it has revoked what it must by then (null when nothing is to revoke). */
  revokeBy: number | null;
  /** A member on the classic protocol (JoinGroup, SyncGroup, Heartbeat): its session and protocols. */
  classic: ClassicMemberMetadata | null;
  /**
   * A classic member is fenced unless it sends SyncGroup (after a JoinGroup) or JoinGroup
   * (after being told to rejoin) by then: Kafka's sync and join timeouts.
   */
  classicDeadline: number | null;
}

export interface ConsumerGroup {
  groupId: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: Map<string, ConsumerMember>;
  /** memberId -> target assignment. */
  target: Map<string, Assignment>;
  /** instance id -> the member id holding it. */
  staticMembers: Map<string, string>;
  /**
   * The subscribed topics' ids and partition counts when the target was last computed; null
   * after loading, when it is learned again without counting as a change.
   */
  topicsSeen: string | null;
}

export function newConsumerGroup(groupId: string): ConsumerGroup {
  return { groupId, groupEpoch: 0, assignmentEpoch: 0, members: new Map(), target: new Map(), staticMembers: new Map(), topicsSeen: '' };
}

export function groupState(g: ConsumerGroup): ConsumerGroupState {
  if (g.members.size === 0) return 'Empty';
  if (g.groupEpoch > g.assignmentEpoch) return 'Assigning';
  for (const m of g.members.values()) if (m.memberEpoch !== g.assignmentEpoch || m.state !== 0) return 'Reconciling';
  return 'Stable';
}

export function has(a: Assignment, topicId: string, p: number): boolean {
  return a.get(topicId)?.includes(p) ?? false;
}

export function isEmpty(a: Assignment): boolean {
  for (const ps of a.values()) if (ps.length > 0) return false;
  return true;
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  const norm = (x: Assignment): string =>
    [...x]
      .filter(([, ps]) => ps.length > 0)
      .map(([t, ps]) => `${t}:${[...ps].sort((i, j) => i - j).join(',')}`)
      .sort()
      .join(';');
  return norm(a) === norm(b);
}

/** Adds (topicId, p) to `a`, keeping partitions ascending. */
export function add(a: Assignment, topicId: string, p: number): void {
  const ps = a.get(topicId);
  if (!ps) a.set(topicId, [p]);
  else if (!ps.includes(p)) {
    ps.push(p);
    ps.sort((i, j) => i - j);
  }
}

export function fromWire(topics: { topicId: string; partitions: number[] }[]): Assignment {
  const a: Assignment = new Map();
  for (const t of topics) for (const p of t.partitions) add(a, t.topicId, p);
  return a;
}

export function toWire(a: Assignment): { topicId: string; partitions: number[] }[] {
  return [...a].filter(([, ps]) => ps.length > 0).map(([topicId, partitions]) => ({ topicId, partitions: [...partitions] }));
}

/** Does `a` hold any partition of `b`? */
export function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of b) for (const p of ps) if (has(a, t, p)) return true;
  return false;
}

/** Is every partition of `a` in `b`? */
export function subsetOf(a: Assignment, b: Assignment): boolean {
  for (const [t, ps] of a) for (const p of ps) if (!has(b, t, p)) return false;
  return true;
}

/** A member as its ConsumerGroupMemberMetadata record keeps it. */
export function metadataValue(m: ConsumerMember): MemberMetadataValue {
  return {
    instanceId: m.instanceId,
    rackId: m.rackId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscribedTopicNames: m.subscribedTopicNames,
    subscribedTopicRegex: m.subscribedTopicRegex,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    serverAssignor: m.serverAssignor,
    classic: m.classic,
  };
}

/** A member as its ConsumerGroupCurrentMemberAssignment record keeps it. */
export function currentValue(m: ConsumerMember): CurrentAssignmentValue {
  return { memberEpoch: m.memberEpoch, previousMemberEpoch: m.previousMemberEpoch, state: m.state, assigned: m.assigned, pendingRevocation: m.pendingRevocation };
}

export function blankMember(memberId: string, expiresAt: number): ConsumerMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    rebalanceTimeoutMs: 0,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberStateCode.STABLE,
    assigned: new Map(),
    pendingRevocation: new Map(),
    expiresAt,
    revokeBy: null,
    classic: null,
    classicDeadline: null,
  };
}
