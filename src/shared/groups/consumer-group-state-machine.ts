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
import { writeError } from '../coordinator-write-error.js';
import { ErrorCode } from '../errors.js';
import { classicHeartbeat, classicJoin, classicLeave, classicSync, type ConsumerGroupCore } from './consumer-classic-members.js';
import {
  checkRequest,
  describeGroup,
  heartbeatError,
  LEAVE,
  STATIC_LEAVE,
  noEffects,
  type ClassicPresence,
  type ConsumerEffects,
  type ConsumerGroupOptions,
  type ConsumerReply,
  type DescribedConsumerGroup,
  type HeartbeatRequest,
  type HeartbeatResult,
} from './consumer-group-io.js';
import {
  blankMember,
  currentValue,
  fromWire,
  groupState,
  metadataValue,
  newConsumerGroup,
  sameAssignment,
  subsetOf,
  toWire,
  type ConsumerGroup,
  type ConsumerGroupState,
  type ConsumerMember,
} from './consumer-group.js';
import {
  currentAssignmentRecord,
  groupEpochRecord,
  memberMetadataRecord,
  MemberStateCode,
  targetEpochRecord,
  targetMemberRecord,
  type ClassicMemberMetadata,
} from './consumer-records.js';
import { reconcile } from './consumer-reconciliation.js';
import { replayConsumerRecord } from './consumer-replay.js';
import { assignorOf, bumpGroupEpoch, refreshTarget, subscribedTopics, updateMember } from './consumer-target-assignment.js';
import { downgrade, downgradeWanted, upgrade, upgradeRefusal } from './group-conversion.js';
import { joinError, syncError, type HeartbeatInput, type JoinInput, type MemberIdentity, type SyncInput } from './group-io.js';
import { encodeGroupKey, type GroupRecord } from './records.js';

interface PendingWrite {
  /** Replies sent once this write (and so every earlier one) is durable. */
  replies: { to: number; ok: ConsumerReply['result']; failed: (errorCode: number) => ConsumerReply['result'] }[];
}

export class ConsumerGroupStateMachine {
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private lastToken = 0;
  private fx: ConsumerEffects = noEffects();
  private records: GroupRecord[] = [];

  private readonly core: ConsumerGroupCore;

  constructor(private readonly opts: ConsumerGroupOptions) {
    this.core = {
      newMemberId: () => opts.newMemberId(),
      maxSize: () => opts.maxSize,
      topics: () => opts.topics(),
      admit: (now, group, memberId, instanceId) => this.join(now, group, memberId, instanceId),
      update: (now, group, member, req, classic) => this.advance(now, group, member, req, classic),
      removeMember: (now, group, member) => this.removeMember(now, group, member),
    };
  }

  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  /** A consumer group with members: classic members joining it are served here. */
  hasMembers(groupId: string): boolean {
    return (this.groups.get(groupId)?.members.size ?? 0) > 0;
  }

  // ---- events ----------------------------------------------------------------------------

  heartbeat(now: number, to: number, req: HeartbeatRequest, classic: ClassicPresence): ConsumerEffects {
    const fail = (code: number, message: string | null = null): ConsumerEffects => this.finish(now, to, heartbeatError(code, message));
    const invalid = checkRequest(req);
    if (invalid !== null) return fail(ErrorCode.INVALID_REQUEST, invalid);
    if (req.serverAssignor !== null && !this.opts.assignors.includes(req.serverAssignor)) {
      return fail(ErrorCode.UNSUPPORTED_ASSIGNOR, `assignor ${req.serverAssignor} is not one of ${this.opts.assignors.join(', ')}`);
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberEpoch !== 0) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `consumer group ${req.groupId} not found`);
      if (typeof classic === 'object') {
        const refusal = upgradeRefusal(classic, this.opts.migrationPolicy, this.opts.maxSize);
        const upgraded = refusal === null ? upgrade(classic, this.opts.topics(), now) : null;
        if (upgraded === null) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `group ${req.groupId} is not a consumer group: ${refusal ?? 'a member\'s embedded consumer protocol is malformed'}`);
        group = upgraded.group;
        this.records.push(...upgraded.records);
        this.fx.upgraded.push(group.groupId);
      } else {
        group = newConsumerGroup(req.groupId);
        // An empty classic group becomes this consumer group; its committed offsets stay.
        if (classic === 'empty') this.records.push({ key: encodeGroupKey(group.groupId), value: null });
      }
      this.groups.set(group.groupId, group);
    }
    if (req.memberEpoch === LEAVE || req.memberEpoch === STATIC_LEAVE) return this.leave(now, to, group, req);

    let member: ConsumerMember;
    let full = req.memberEpoch === 0;
    if (req.memberEpoch === 0) {
      const joined = this.join(now, group, req.memberId === '' ? this.opts.newMemberId() : req.memberId, req.instanceId);
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
    const changed = this.advance(now, group, member, req);
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
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

  /** JoinGroup from a classic member of a non-empty consumer group (consumer-classic-members.ts). */
  classicJoin(now: number, to: number, j: JoinInput): ConsumerEffects {
    const group = this.groups.get(j.groupId)!;
    const result = classicJoin(this.core, now, group, j);
    return this.finish(now, to, result, (code) => joinError(code, result.memberId));
  }

  classicSync(now: number, to: number, s: SyncInput): ConsumerEffects {
    const group = this.groups.get(s.groupId);
    return this.finish(now, to, group ? classicSync(this.core, now, group, s) : syncError(ErrorCode.UNKNOWN_MEMBER_ID), syncError);
  }

  classicHeartbeat(now: number, to: number, h: HeartbeatInput): ConsumerEffects {
    const group = this.groups.get(h.groupId);
    const errorCode = group ? classicHeartbeat(now, group, h.memberId, h.groupInstanceId, h.generationId) : ErrorCode.UNKNOWN_MEMBER_ID;
    return this.finish(now, to, { errorCode });
  }

  classicLeave(now: number, to: number, groupId: string, members: MemberIdentity[]): ConsumerEffects {
    const group = this.groups.get(groupId);
    const out = group ? classicLeave(this.core, now, group, members) : members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }));
    return this.finish(now, to, { errorCode: ErrorCode.NONE, members: out }, (errorCode) => ({ errorCode, members: members.map((m) => ({ ...m, errorCode })) }));
  }

  /** Kafka's ConsumerGroup.validateOffsetCommit: the member's current epoch, or an empty group. */
  validateCommit(groupId: string, memberId: string, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (memberEpoch < 0 && memberId === '' && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch === member.memberEpoch) return ErrorCode.NONE;
    return member.classic !== null ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
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
    for (const m of group.members.values()) if (subscribedTopics(m, topics).has(topic)) return true;
    return false;
  }

  /** Deletes an empty group's records; its offsets are the offsets store's to delete. */
  deleteGroup(now: number, to: number, groupId: string): ConsumerEffects {
    const group = this.groups.get(groupId);
    if (!group) return this.finish(now, to, { errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
    if (group.members.size > 0) return this.finish(now, to, { errorCode: ErrorCode.NON_EMPTY_GROUP });
    this.dropGroup(group);
    return this.finish(now, to, { errorCode: ErrorCode.NONE });
  }

  /** An empty consumer group gives way to a classic group joining under its id (its offsets stay). */
  yieldEmpty(now: number, groupId: string): ConsumerEffects {
    const group = this.groups.get(groupId);
    if (group && group.members.size === 0) this.dropGroup(group);
    return this.finish(now, null, null);
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
    this.fx = noEffects();
    return fx;
  }

  // ---- loading -----------------------------------------------------------------------------

  /** Applies one consumer group record read back from the log, in log order. */
  replay(now: number, key: Buffer, value: Buffer | null): void {
    replayConsumerRecord(this.groups, key, value, now + this.opts.sessionTimeoutMs);
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
    return describeGroup(group, this.opts.topics(), assignorOf(group, this.opts.assignors));
  }

  list(): { groupId: string; groupState: ConsumerGroupState }[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.groupId, groupState: groupState(g) }));
  }

  nextDeadline(): number | null {
    let next = Infinity;
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        next = Math.min(next, m.expiresAt, m.revokeBy ?? Infinity, m.classicDeadline ?? Infinity);
      }
    }
    return next === Infinity ? null : next;
  }

  // ---- joining and leaving -----------------------------------------------------------------

  private join(now: number, group: ConsumerGroup, memberId: string, instanceId: string | null): ConsumerMember | number {
    if (instanceId !== null) {
      const heldBy = group.staticMembers.get(instanceId);
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
    const member = blankMember(memberId, now + this.opts.sessionTimeoutMs);
    member.instanceId = instanceId;
    group.members.set(memberId, member);
    if (instanceId !== null) group.staticMembers.set(instanceId, memberId);
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
    this.records.push(memberMetadataRecord(group.groupId, memberId, metadataValue(member)));
    this.records.push(currentAssignmentRecord(group.groupId, memberId, currentValue(member)));
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
      this.records.push(currentAssignmentRecord(group.groupId, memberId, currentValue(member)));
    } else {
      this.removeMember(now, group, member);
    }
    const result: HeartbeatResult = { errorCode: ErrorCode.NONE, errorMessage: null, memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    return this.finish(now, to, result);
  }

  /** Takes a member out (Kafka's consumerGroupFenceMember): the group epoch moves, or the group turns classic. */
  private removeMember(now: number, group: ConsumerGroup, member: ConsumerMember): void {
    if (downgradeWanted(group, member, this.opts.migrationPolicy)) {
      const names = new Map([...this.opts.topics()].map(([name, t]) => [t.id, name]));
      const classic = downgrade(group, member.memberId, names, now);
      this.records.push(...classic.records);
      this.groups.delete(group.groupId);
      this.fx.downgraded.push(classic.group);
      return;
    }
    for (const r of this.memberTombstones(group.groupId, member.memberId)) this.records.push(r);
    group.members.delete(member.memberId);
    group.target.delete(member.memberId);
    if (member.instanceId !== null && group.staticMembers.get(member.instanceId) === member.memberId) group.staticMembers.delete(member.instanceId);
    bumpGroupEpoch(group, this.records);
    refreshTarget(group, this.opts.topics(), this.opts.assignors, this.records);
  }

  /** A heartbeat's worth of member data applied, the target refreshed, one step of reconciliation: did the member's assignment change? */
  private advance(now: number, group: ConsumerGroup, member: ConsumerMember, req: HeartbeatRequest, classic?: ClassicMemberMetadata): boolean {
    updateMember(group, member, req, classic, this.records);
    refreshTarget(group, this.opts.topics(), this.opts.assignors, this.records);
    const before = this.snapshot(member);
    reconcile(now, group, member, req.topicPartitions === null ? null : fromWire(req.topicPartitions));
    const changed = this.snapshot(member) !== before;
    if (changed) this.records.push(currentAssignmentRecord(group.groupId, member.memberId, currentValue(member)));
    return changed;
  }

  private dropGroup(group: ConsumerGroup): void {
    for (const id of group.target.keys()) this.records.push(targetMemberRecord(group.groupId, id, null));
    this.records.push(targetEpochRecord(group.groupId, null), groupEpochRecord(group.groupId, null));
    this.groups.delete(group.groupId);
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

  // ---- expiry ------------------------------------------------------------------------------

  private expire(now: number): void {
    for (const group of this.groups.values()) {
      for (const m of [...group.members.values()]) {
        if (this.groups.get(group.groupId) !== group) break;
        const late = (at: number | null) => at !== null && at <= now;
        if (group.members.get(m.memberId) === m && (m.expiresAt <= now || late(m.revokeBy) || late(m.classicDeadline))) this.removeMember(now, group, m);
      }
    }
  }

  // ---- effects -----------------------------------------------------------------------------

  private snapshot(m: ConsumerMember): string {
    return JSON.stringify([m.memberEpoch, m.previousMemberEpoch, m.state, [...m.assigned], [...m.pendingRevocation]]);
  }

  /**
   * Runs due deadlines, writes the records gathered, and sends `result` to `to` once every
   * record written so far is durable (at once when nothing is pending).
   */
  private finish(now: number, to: number | null, result: ConsumerReply['result'] | null, failed: (errorCode: number) => ConsumerReply['result'] = (code) => ({ errorCode: code })): ConsumerEffects {
    this.expire(now);
    if (this.records.length > 0) {
      const token = ++this.lastToken;
      this.pendingWrites.set(token, { replies: [] });
      this.fx.writes.push({ token, records: this.records });
      this.records = [];
    }
    if (to !== null && result !== null) {
      const last = this.pendingWrites.get(this.lastToken);
      if (last) last.replies.push({ to, ok: result, failed: 'memberEpoch' in result ? (code) => heartbeatError(code) : failed });
      else this.fx.replies.push({ to, result });
    }
    const fx = this.fx;
    this.fx = noEffects();
    return fx;
  }
}
