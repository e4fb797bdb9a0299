/**
 * The consumer group protocol (KIP-848) for the consumer groups of one `__consumer_offsets`
 * partition, as pure logic beside the classic GroupStateMachine: no timers, sockets or files.
 * Events carry `now` and return effects (replies by reply id, records to append); a reply
 * waits for every record written before it (so a member never hears of state that could be
 * lost), and its write's outcome comes back through `persisted(token)`.
 *
 * One ConsumerGroupHeartbeat does everything:
 *   epoch 0          join (a static member's instance id takes over its absent predecessor,
 *                    keeping its partitions)
 *   epoch -1 / -2    leave / a static member leaves for now (keeps its partitions until its
 *                    session ends)
 *   epoch > 0        heartbeat; the epoch must be the member's (or its previous one, when the
 *                    last reply was lost and it owns nothing it should not): FENCED_MEMBER_EPOCH
 *                    otherwise, and the member rejoins with nothing
 * Then: a changed subscription or subscribed topic bumps the group epoch, the target
 * assignment is recomputed by the server-side assignor for that epoch, and the member is
 * moved one step towards its target (Kafka's CurrentAssignmentBuilder):
 *
 *   STABLE ──target epoch moved──> partitions to give up? ──yes──> UNREVOKED_PARTITIONS
 *     ^                                   │ no                       (epoch kept; must confirm
 *     │                                   v                        the revocation by reporting
 *     └──all its target free── UNRELEASED_PARTITIONS <──confirmed──  its owned partitions)
 *                               (new epoch; waits for partitions other members still hold)
 *
 * A member that does not heartbeat within the session timeout, or does not revoke within its
 * rebalance timeout, is removed and the group epoch bumped.
 */
import { ErrorCode } from '../errors.js';
import { ASSIGNORS, type AssignorTopic } from './consumer-assignors.js';
import {
  add,
  fromWire,
  groupState,
  has,
  isEmpty,
  newConsumerGroup,
  overlaps,
  sameAssignment,
  subsetOf,
  toWire,
  type ConsumerGroup,
  type ConsumerGroupState,
  type ConsumerMember,
  type MemberState,
} from './consumer-group.js';
import {
  currentAssignmentRecord,
  decodeConsumerKey,
  decodeCurrentAssignmentValue,
  decodeEpochValue,
  decodeMemberMetadataValue,
  decodeTargetMemberValue,
  groupEpochRecord,
  memberMetadataRecord,
  MemberStateCode,
  targetEpochRecord,
  targetMemberRecord,
  type Assignment,
} from './consumer-records.js';
import { writeError } from '../coordinator-write-error.js';
import type { Write } from './group-io.js';
import { encodeGroupKey, type GroupRecord } from './records.js';

export interface ConsumerGroupOptions {
  /** group.consumer.session.timeout.ms */
  sessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms */
  heartbeatIntervalMs: number;
  /** group.consumer.assignors: the first is used unless the members ask for another. */
  assignors: string[];
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

/** What the classic machine holds under the group id: a consumer group may take over an empty one. */
export type ClassicPresence = 'absent' | 'empty' | 'active';

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
  result: HeartbeatResult | { errorCode: number };
}

export interface ConsumerEffects {
  replies: ConsumerReply[];
  writes: Write[];
}

interface PendingWrite {
  /** Replies sent once this write (and so every earlier one) is durable. */
  replies: { to: number; ok: ConsumerReply['result']; failed: (errorCode: number) => ConsumerReply['result'] }[];
}

const LEAVE = -1;
const STATIC_LEAVE = -2;

function heartbeatError(errorCode: number, errorMessage: string | null = null): HeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
}

export class ConsumerGroupStateMachine {
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private lastToken = 0;
  private fx: ConsumerEffects = { replies: [], writes: [] };
  private records: GroupRecord[] = [];

  constructor(private readonly opts: ConsumerGroupOptions) {}

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  // ---- events ----------------------------------------------------------------------------

  heartbeat(now: number, to: number, req: HeartbeatRequest, classic: ClassicPresence): ConsumerEffects {
    const fail = (code: number, message: string | null = null): ConsumerEffects => this.finish(now, to, heartbeatError(code, message));
    const invalid = this.checkRequest(req);
    if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
    if (req.serverAssignor !== null && !this.opts.assignors.includes(req.serverAssignor)) {
      return fail(ErrorCode.UNSUPPORTED_ASSIGNOR, `assignor ${req.serverAssignor} is not one of ${this.opts.assignors.join(', ')}`);
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberEpoch !== 0) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group ${req.groupId} not found`);
      if (classic === 'active') return fail(ErrorCode.GROUP_ID_NOT_FOUND, `group ${req.groupId} is not a consumer group`);
      group = newConsumerGroup(req.groupId);
      this.groups.set(group.groupId, group);
      // An empty classic group becomes this consumer group; its committed offsets stay.
      if (classic === 'empty') this.records.push({ key: encodeGroupKey(group.groupId), value: null });
    }
    if (req.memberEpoch === LEAVE || req.memberEpoch === STATIC_LEAVE) return this.leave(now, to, group, req);

    let member: ConsumerMember;
    let full = req.memberEpoch === 0;
    if (req.memberEpoch === 0) {
      const joined = this.join(now, group, req);
      if (typeof joined === 'number') return fail(joined);
      member = joined;
    } else {
      const m = group.members.get(req.memberId);
      if (!m) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      if (req.instanceId !== null && group.staticMembers.get(req.instanceId) !== m.memberId) return fail(ErrorCode.FENCED_INSTANCE_ID);
      if (!this.epochAccepted(m, req)) return fail(ErrorCode.FENCED_MEMBER_EPOCH);
      member = m;
      full = req.subscribedTopicNames !== null && req.topicPartitions !== null && req.rebalanceTimeoutMs !== -1;
    }
    member.expiresAt = now + this.opts.sessionTimeoutMs;
    this.updateMetadata(group, member, req);
    this.refreshTarget(group);
    const before = this.snapshot(member);
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
    this.reconcile(now, group, member, owned);
    const changed = this.snapshot(member) !== before;
    if (changed) this.records.push(currentAssignmentRecord(group.groupId, member.memberId, this.currentValue(member)));
    const send = changed || full || (owned !== null && !sameAssignment(owned, member.assigned));
    return this.finish(now, to, {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      assignment: send ? { topicPartitions: toWire(member.assigned) } : null,
    });
  }

  /** Kafka's ConsumerGroup.validateOffsetCommit: the member's current epoch, or an empty group. */
  validateCommit(groupId: string, memberId: string, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (memberEpoch < 0 && memberId === '' && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch: a member asking must be current. */
  validateFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (!group || memberId === null || memberId === '' || memberEpoch < 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    return memberEpoch === member.memberEpoch ? ErrorCode.NONE : ErrorCode.STALE_MEMBER_EPOCH;
  }

  /** Does a member of the group subscribe to `topic`? (Its offsets cannot be deleted then.) */
  isSubscribed(groupId: string, topic: string): boolean {
    const group = this.groups.get(groupId);
    if (!group) return false;
    const topics = this.opts.topics();
    for (const m of group.members.values()) if (this.subscribedTopics(m, topics).has(topic)) return true;
    return false;
  }

  /** Deletes an empty group's records; its offsets are the offsets store's to delete. */
  deleteGroup(now: number, to: number, groupId: string): ConsumerEffects {
    const group = this.groups.get(groupId);
    if (!group) return this.finish(now, to, { errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
    if (group.members.size > 0) return this.finish(now, to, { errorCode: ErrorCode.NON_EMPTY_GROUP });
    for (const id of group.target.keys()) this.records.push(targetMemberRecord(groupId, id, null));
    this.records.push(targetEpochRecord(groupId, null), groupEpochRecord(groupId, null));
    this.groups.delete(groupId);
    return this.finish(now, to, { errorCode: ErrorCode.NONE });
  }

  persisted(now: number, token: number, errorCode: number): ConsumerEffects {
    const w = this.pendingWrites.get(token);
    this.pendingWrites.delete(token);
    if (w) {
      const failed = writeError(errorCode, false);
      for (const r of w.replies) this.fx.replies.push({ to: r.to, result: errorCode === ErrorCode.NONE ? r.ok : r.failed(failed) });
    }
    return this.finish(now, null, null);
  }

  tick(now: number): ConsumerEffects {
    return this.finish(now, null, null);
  }

  /** Answers everything still waiting with `errorCode`: the partition is being given up. */
  abandon(errorCode: number): ConsumerEffects {
    for (const w of this.pendingWrites.values()) for (const r of w.replies) this.fx.replies.push({ to: r.to, result: r.failed(errorCode) });
    this.pendingWrites.clear();
    this.groups.clear();
    const fx = this.fx;
    this.fx = { replies: [], writes: [] };
    return fx;
  }

  // ---- loading -----------------------------------------------------------------------------

  /** Applies one consumer group record read back from the log, in log order. */
  replay(now: number, key: Buffer, value: Buffer | null): void {
    const k = decodeConsumerKey(key);
    if (k.type === 4) return;
    let group = this.groups.get(k.group);
    if (k.type === 3) {
      if (value === null) this.groups.delete(k.group);
      else {
        group ??= this.loadedGroup(k.group);
        group.groupEpoch = decodeEpochValue(value);
      }
      return;
    }
    if (value === null && !group) return;
    group ??= this.loadedGroup(k.group);
    if (k.type === 6) {
      group.assignmentEpoch = value === null ? 0 : decodeEpochValue(value);
      return;
    }
    if (!('member' in k)) return;
    if (k.type === 7) {
      if (value === null) group.target.delete(k.member);
      else group.target.set(k.member, decodeTargetMemberValue(value));
      return;
    }
    if (k.type === 5 && value === null) {
      const m = group.members.get(k.member);
      group.members.delete(k.member);
      if (m?.instanceId != null && group.staticMembers.get(m.instanceId) === k.member) group.staticMembers.delete(m.instanceId);
      return;
    }
    if (value === null) return;
    const member = group.members.get(k.member) ?? this.blankMember(k.member, now);
    group.members.set(k.member, member);
    if (k.type === 5) {
      const v = decodeMemberMetadataValue(value);
      Object.assign(member, v);
      if (v.instanceId !== null) group.staticMembers.set(v.instanceId, k.member);
    } else {
      const v = decodeCurrentAssignmentValue(value);
      member.memberEpoch = v.memberEpoch;
      member.previousMemberEpoch = v.previousMemberEpoch;
      member.state = (v.state <= 2 ? v.state : 0) as MemberState;
      member.assigned = v.assigned;
      member.pendingRevocation = v.pendingRevocation;
    }
  }

  /** Loading is over: every member gets a full session (and rebalance timeout) from now. */
  loaded(now: number): void {
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        m.expiresAt = now + this.opts.sessionTimeoutMs;
        m.revokeBy = m.state === MemberStateCode.UNREVOKED_PARTITIONS ? now + m.rebalanceTimeoutMs : null;
      }
    }
  }

  // ---- queries -----------------------------------------------------------------------------

  describe(groupId: string): DescribedConsumerGroup {
    const group = this.groups.get(groupId);
    if (!group) {
      return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `group ${groupId} is not a consumer group`, groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] };
    }
    const names = new Map([...this.opts.topics()].map(([name, t]) => [t.id, name]));
    const named = (a: Assignment) => ({
      topicPartitions: toWire(a).map((t) => ({ topicId: t.topicId, topicName: names.get(t.topicId) ?? '', partitions: t.partitions })),
    });
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      groupId,
      groupState: groupState(group),
      groupEpoch: group.groupEpoch,
      assignmentEpoch: group.assignmentEpoch,
      assignorName: this.assignorOf(group),
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

  list(): { groupId: string; groupState: ConsumerGroupState }[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.groupId, groupState: groupState(g) }));
  }

  nextDeadline(): number | null {
    let next = Infinity;
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        next = Math.min(next, m.expiresAt);
        if (m.revokeBy !== null) next = Math.min(next, m.revokeBy);
      }
    }
    return next === Infinity ? null : next;
  }

  // ---- joining and leaving -----------------------------------------------------------------

  private checkRequest(req: HeartbeatRequest): string | null {
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

  private join(now: number, group: ConsumerGroup, req: HeartbeatRequest): ConsumerMember | number {
    const memberId = req.memberId === '' ? this.opts.newMemberId() : req.memberId;
    if (req.instanceId !== null) {
      const heldBy = group.staticMembers.get(req.instanceId);
      const held = heldBy === undefined ? undefined : group.members.get(heldBy);
      if (held && heldBy !== memberId) {
        if (held.memberEpoch !== STATIC_LEAVE) return ErrorCode.UNRELEASED_INSTANCE_ID;
        return this.replaceStatic(group, held, memberId);
      }
    }
    const existing = group.members.get(memberId);
    if (existing) {
      // Rejoining after being fenced: the client has dropped everything it owned.
      existing.memberEpoch = 0;
      existing.state = MemberStateCode.STABLE;
      existing.assigned = new Map();
      existing.pendingRevocation = new Map();
      existing.revokeBy = null;
      return existing;
    }
    if (group.members.size >= this.opts.maxSize) return ErrorCode.GROUP_MAX_SIZE_REACHED;
    const member = this.blankMember(memberId, now);
    member.instanceId = req.instanceId;
    group.members.set(memberId, member);
    if (req.instanceId !== null) group.staticMembers.set(req.instanceId, memberId);
    return member;
  }

  /** A static member back under a new member id takes its predecessor's place and partitions. */
  private replaceStatic(group: ConsumerGroup, old: ConsumerMember, memberId: string): ConsumerMember {
    for (const r of this.memberTombstones(group.groupId, old.memberId)) this.records.push(r);
    group.members.delete(old.memberId);
    const member: ConsumerMember = { ...old, memberId, memberEpoch: old.previousMemberEpoch };
    group.members.set(memberId, member);
    group.staticMembers.set(old.instanceId!, memberId);
    const target = group.target.get(old.memberId);
    group.target.delete(old.memberId);
    if (target) {
      group.target.set(memberId, target);
      this.records.push(targetMemberRecord(group.groupId, memberId, target));
    }
    this.records.push(memberMetadataRecord(group.groupId, memberId, this.metadataValue(member)));
    this.records.push(currentAssignmentRecord(group.groupId, memberId, this.currentValue(member)));
    return member;
  }

  private leave(now: number, to: number, group: ConsumerGroup, req: HeartbeatRequest): ConsumerEffects {
    const memberId = req.instanceId !== null ? (group.staticMembers.get(req.instanceId) ?? req.memberId) : req.memberId;
    const member = group.members.get(memberId);
    if (!member) return this.finish(now, to, heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID));
    if (req.instanceId !== null && req.memberId !== memberId) return this.finish(now, to, heartbeatError(ErrorCode.FENCED_INSTANCE_ID));
    if (req.memberEpoch === STATIC_LEAVE) {
      member.previousMemberEpoch = member.memberEpoch === STATIC_LEAVE ? member.previousMemberEpoch : member.memberEpoch;
      member.memberEpoch = STATIC_LEAVE;
      member.revokeBy = null;
      this.records.push(currentAssignmentRecord(group.groupId, memberId, this.currentValue(member)));
    } else {
      this.removeMember(group, member);
    }
    const result: HeartbeatResult = { errorCode: ErrorCode.NONE, errorMessage: null, memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    return this.finish(now, to, result);
  }

  private removeMember(group: ConsumerGroup, member: ConsumerMember): void {
    for (const r of this.memberTombstones(group.groupId, member.memberId)) this.records.push(r);
    group.members.delete(member.memberId);
    group.target.delete(member.memberId);
    if (member.instanceId !== null && group.staticMembers.get(member.instanceId) === member.memberId) group.staticMembers.delete(member.instanceId);
    this.bumpGroupEpoch(group);
    this.refreshTarget(group);
  }

  private memberTombstones(groupId: string, memberId: string): GroupRecord[] {
    return [currentAssignmentRecord(groupId, memberId, null), targetMemberRecord(groupId, memberId, null), memberMetadataRecord(groupId, memberId, null)];
  }

  private epochAccepted(m: ConsumerMember, req: HeartbeatRequest): boolean {
    if (req.memberEpoch === m.memberEpoch) return true;
    // The reply carrying the last epoch bump may have been lost: the member may come back with
    // the epoch before, as long as it owns nothing it was not given.
    if (req.memberEpoch !== m.previousMemberEpoch || req.topicPartitions === null) return false;
    return subsetOf(fromWire(req.topicPartitions), m.assigned);
  }

  // ---- subscriptions and the target assignment ---------------------------------------------

  private updateMetadata(group: ConsumerGroup, member: ConsumerMember, req: HeartbeatRequest): void {
    const before = JSON.stringify(this.metadataValue(member));
    const subscriptionBefore = JSON.stringify([member.subscribedTopicNames, member.subscribedTopicRegex, member.serverAssignor]);
    if (req.subscribedTopicNames !== null) member.subscribedTopicNames = [...req.subscribedTopicNames].sort();
    if (req.subscribedTopicRegex !== null) member.subscribedTopicRegex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
    if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.clientId = req.clientId;
    member.clientHost = req.clientHost;
    const isNew = req.memberEpoch === 0 && member.memberEpoch === 0 && !group.target.has(member.memberId);
    if (JSON.stringify(this.metadataValue(member)) !== before || isNew) {
      this.records.push(memberMetadataRecord(group.groupId, member.memberId, this.metadataValue(member)));
    }
    if (isNew || JSON.stringify([member.subscribedTopicNames, member.subscribedTopicRegex, member.serverAssignor]) !== subscriptionBefore) {
      this.bumpGroupEpoch(group);
    }
  }

  private bumpGroupEpoch(group: ConsumerGroup): void {
    group.groupEpoch++;
    this.records.push(groupEpochRecord(group.groupId, group.groupEpoch));
  }

  private subscribedTopics(m: ConsumerMember, topics: ReadonlyMap<string, AssignorTopic>): Set<string> {
    const out = new Set(m.subscribedTopicNames.filter((t) => topics.has(t)));
    if (m.subscribedTopicRegex !== null) {
      const re = new RegExp(`^(?:${m.subscribedTopicRegex})$`);
      for (const name of topics.keys()) if (!name.startsWith('__') && re.test(name)) out.add(name);
    }
    return out;
  }

  /** Recomputes the target when the group epoch moved past it or a subscribed topic changed. */
  private refreshTarget(group: ConsumerGroup): void {
    const all = this.opts.topics();
    const subscriptions = new Map([...group.members.values()].map((m) => [m.memberId, this.subscribedTopics(m, all)]));
    const topics = new Map<string, AssignorTopic>();
    for (const set of subscriptions.values()) for (const name of set) topics.set(name, all.get(name)!);
    const seen = [...topics].map(([name, t]) => `${name}:${t.id}:${t.partitions}`).sort().join(',');
    const compute = () =>
      ASSIGNORS[this.assignorOf(group)]!(
        [...group.members.values()].map((m) => ({ memberId: m.memberId, topics: [...subscriptions.get(m.memberId)!], previous: group.target.get(m.memberId) ?? new Map() })),
        topics,
      );
    if (group.topicsSeen === null) {
      // Just loaded: what the topics were is not stored, so a change shows as a changed target.
      group.topicsSeen = seen;
      const target = compute();
      if (group.groupEpoch === group.assignmentEpoch && [...target].every(([id, a]) => sameAssignment(a, group.target.get(id) ?? new Map()))) return;
      if (group.groupEpoch === group.assignmentEpoch) this.bumpGroupEpoch(group);
    } else if (seen !== group.topicsSeen) {
      group.topicsSeen = seen;
      // A change already under way (a join, a new subscription) covers this one.
      if (group.groupEpoch === group.assignmentEpoch) this.bumpGroupEpoch(group);
    }
    if (group.groupEpoch <= group.assignmentEpoch) return;
    const target = compute();
    for (const [id, a] of target) {
      if (!sameAssignment(a, group.target.get(id) ?? new Map())) this.records.push(targetMemberRecord(group.groupId, id, a));
    }
    group.target = target;
    group.assignmentEpoch = group.groupEpoch;
    this.records.push(targetEpochRecord(group.groupId, group.assignmentEpoch));
  }

  /** The assignor most members ask for, else the first configured. */
  private assignorOf(group: ConsumerGroup): string {
    const votes = new Map<string, number>();
    for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best = this.opts.assignors[0]!;
    let most = 0;
    for (const name of this.opts.assignors) {
      const n = votes.get(name) ?? 0;
      if (n > most) [best, most] = [name, n];
    }
    return best;
  }

  // ---- reconciliation ----------------------------------------------------------------------

  /** Moves the member one step towards its target assignment. */
  private reconcile(now: number, group: ConsumerGroup, m: ConsumerMember, owned: Assignment | null): void {
    if (m.state === MemberStateCode.UNREVOKED_PARTITIONS) {
      // Still owning a partition to give up: wait (its rebalance timeout runs).
      if (owned === null || overlaps(owned, m.pendingRevocation)) return;
      m.pendingRevocation = new Map();
    } else if (m.state === MemberStateCode.STABLE && m.memberEpoch === group.assignmentEpoch) {
      return;
    }
    const target = group.target.get(m.memberId) ?? new Map<string, number[]>();
    const kept: Assignment = new Map();
    const revoke: Assignment = new Map();
    for (const [t, ps] of m.assigned) for (const p of ps) add(has(target, t, p) ? kept : revoke, t, p);
    if (!isEmpty(revoke)) {
      m.assigned = kept;
      m.pendingRevocation = revoke;
      m.state = MemberStateCode.UNREVOKED_PARTITIONS;
      m.revokeBy = now + m.rebalanceTimeoutMs;
      return;
    }
    const held = this.heldByOthers(group, m.memberId);
    let unreleased = false;
    for (const [t, ps] of target) {
      for (const p of ps) {
        if (has(kept, t, p)) continue;
        if (held.has(`${t}:${p}`)) unreleased = true;
        else add(kept, t, p);
      }
    }
    if (m.memberEpoch !== group.assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = group.assignmentEpoch;
    }
    m.assigned = kept;
    m.state = unreleased ? MemberStateCode.UNRELEASED_PARTITIONS : MemberStateCode.STABLE;
    m.revokeBy = null;
  }

  /** "topicId:partition" of every partition another member owns or has yet to revoke. */
  private heldByOthers(group: ConsumerGroup, memberId: string): Set<string> {
    const out = new Set<string>();
    for (const o of group.members.values()) {
      if (o.memberId === memberId) continue;
      for (const a of [o.assigned, o.pendingRevocation]) for (const [t, ps] of a) for (const p of ps) out.add(`${t}:${p}`);
    }
    return out;
  }

  // ---- expiry ------------------------------------------------------------------------------

  private expire(now: number): void {
    for (const group of this.groups.values()) {
      for (const m of [...group.members.values()]) {
        if (m.expiresAt <= now || (m.revokeBy !== null && m.revokeBy <= now)) this.removeMember(group, m);
      }
    }
  }

  // ---- effects -----------------------------------------------------------------------------

  private snapshot(m: ConsumerMember): string {
    return JSON.stringify([m.memberEpoch, m.previousMemberEpoch, m.state, [...m.assigned], [...m.pendingRevocation]]);
  }

  private metadataValue(m: ConsumerMember) {
    return {
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      serverAssignor: m.serverAssignor,
    };
  }

  private currentValue(m: ConsumerMember) {
    return { memberEpoch: m.memberEpoch, previousMemberEpoch: m.previousMemberEpoch, state: m.state, assigned: m.assigned, pendingRevocation: m.pendingRevocation };
  }

  private blankMember(memberId: string, now: number): ConsumerMember {
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
      expiresAt: now + this.opts.sessionTimeoutMs,
      revokeBy: null,
    };
  }

  private loadedGroup(groupId: string): ConsumerGroup {
    const g = newConsumerGroup(groupId);
    g.topicsSeen = null;
    this.groups.set(groupId, g);
    return g;
  }

  /**
   * Runs due deadlines, writes the records gathered, and sends `result` to `to` once every
   * record written so far is durable (at once when nothing is pending).
   */
  private finish(now: number, to: number | null, result: ConsumerReply['result'] | null): ConsumerEffects {
    this.expire(now);
    if (this.records.length > 0) {
      const token = ++this.lastToken;
      this.pendingWrites.set(token, { replies: [] });
      this.fx.writes.push({ token, records: this.records });
      this.records = [];
    }
    if (to !== null && result !== null) {
      const last = this.pendingWrites.get(this.lastToken);
      const failed = (code: number) => ('memberEpoch' in result ? heartbeatError(code) : { errorCode: code });
      if (last) last.replies.push({ to, ok: result, failed });
      else this.fx.replies.push({ to, result });
    }
    const fx = this.fx;
    this.fx = { replies: [], writes: [] };
    return fx;
  }
}
