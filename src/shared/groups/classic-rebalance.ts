/**
 * The classic group protocol's membership and rebalances (Kafka's ClassicGroup handling in its
 * GroupMetadataManager): members joining, the join phase and its deadlines, the generation a
 * completed join starts, the leader's assignment, members leaving or expiring. Pure: replies
 * and writes go to the `out` its GroupStateMachine gives it; the groups are the machine's.
 */
import { writeError } from '../coordinator-write-error.js';
import { ErrorCode } from '../errors.js';
import { joinError, syncError, type GroupOptions, type JoinInput, type JoinResult, type MemberIdentity, type Reply } from './group-io.js';
import {
  EMPTY_BYTES,
  groupRecord,
  maxRebalanceTimeout,
  memberMetadata,
  sameProtocols,
  selectProtocol,
  setState,
  type Group,
  type Member,
} from './group.js';
import type { GroupRecord } from './records.js';

/** The writes a rebalance asks for, and what to do once each is durable. */
export type RebalanceWrite =
  | { kind: 'assignment'; groupId: string; generationId: number; assignments: Map<string, Buffer> }
  | { kind: 'static-rejoin'; to: number; result: JoinResult }
  | { kind: 'state' };

export interface RebalanceOutput {
  reply(to: number, result: Reply['result']): void;
  write(records: GroupRecord[], pending: RebalanceWrite): void;
}

export class ClassicRebalance {
  constructor(
    private readonly opts: GroupOptions,
    private readonly out: RebalanceOutput,
  ) {}

  joinNewMember(now: number, group: Group, to: number, j: JoinInput): void {
    const memberId = this.opts.newMemberId(j.clientId);
    if (j.groupInstanceId !== null) {
      const held = group.staticMembers.get(j.groupInstanceId);
      if (held !== undefined) return this.replaceStaticMember(now, group, held, memberId, to, j);
    } else if (j.requireKnownMemberId) {
      group.pending.set(memberId, now + j.sessionTimeoutMs);
      this.out.reply(to, joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      return;
    }
    this.addMember(now, group, memberId, to, j);
  }

  joinKnownMember(now: number, group: Group, to: number, j: JoinInput): void {
    if (group.pending.has(j.memberId) && j.groupInstanceId === null) {
      group.pending.delete(j.memberId);
      return this.addMember(now, group, j.memberId, to, j);
    }
    const invalid = this.validateMember(group, j.memberId, j.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return this.out.reply(to, joinError(invalid, j.memberId));
    const member = group.members.get(j.memberId)!;
    const unchanged = sameProtocols(member.protocols, j.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMember(now, group, member, to, j);
      case 'CompletingRebalance':
        if (!unchanged) return this.updateMember(now, group, member, to, j);
        return this.out.reply(to, this.joinResult(group, member.memberId, group.leaderId === member.memberId));
      case 'Stable':
        if (!unchanged || group.leaderId === member.memberId) return this.updateMember(now, group, member, to, j);
        member.expiresAt = now + member.sessionTimeoutMs;
        return this.out.reply(to, this.joinResult(group, member.memberId, false));
      default:
        return this.out.reply(to, joinError(ErrorCode.UNKNOWN_MEMBER_ID, j.memberId));
    }
  }

  private addMember(now: number, group: Group, memberId: string, to: number, j: JoinInput): void {
    if (group.members.size === 0) group.protocolType = j.protocolType;
    group.members.set(memberId, {
      memberId,
      groupInstanceId: j.groupInstanceId,
      clientId: j.clientId,
      clientHost: j.clientHost,
      sessionTimeoutMs: j.sessionTimeoutMs,
      rebalanceTimeoutMs: j.rebalanceTimeoutMs,
      protocols: j.protocols,
      assignment: EMPTY_BYTES,
      joinReply: to,
      syncReply: null,
      expiresAt: now + j.sessionTimeoutMs,
    });
    if (j.groupInstanceId !== null) group.staticMembers.set(j.groupInstanceId, memberId);
    group.leaderId ??= memberId;
    if (group.state === 'PreparingRebalance' && group.initialDelay) group.initialDelay.newMemberAdded = true;
    this.prepareRebalance(now, group);
  }

  private updateMember(now: number, group: Group, member: Member, to: number, j: JoinInput): void {
    if (member.joinReply !== null && member.joinReply !== to) this.out.reply(member.joinReply, joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    member.protocols = j.protocols;
    member.sessionTimeoutMs = j.sessionTimeoutMs;
    member.rebalanceTimeoutMs = j.rebalanceTimeoutMs;
    member.clientId = j.clientId;
    member.clientHost = j.clientHost;
    member.joinReply = to;
    this.prepareRebalance(now, group);
  }

  private replaceStaticMember(now: number, group: Group, oldId: string, newId: string, to: number, j: JoinInput): void {
    const member = group.members.get(oldId)!;
    const previousLeader = group.leaderId ?? '';
    if (member.joinReply !== null) this.out.reply(member.joinReply, joinError(ErrorCode.FENCED_INSTANCE_ID, oldId));
    if (member.syncReply !== null) this.out.reply(member.syncReply, syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.joinReply = member.syncReply = null;
    group.members.delete(oldId);
    member.memberId = newId;
    group.members.set(newId, member);
    group.staticMembers.set(j.groupInstanceId!, newId);
    if (group.leaderId === oldId) group.leaderId = newId;
    if (group.state === 'Stable') {
      const before = member.protocols;
      member.protocols = j.protocols;
      if (selectProtocol(group) === group.protocolName) {
        // No rebalance: the member keeps its assignment. The old leader id is returned so a
        // rejoining leader does not compute an assignment a Stable group would never hand out.
        member.clientId = j.clientId;
        member.clientHost = j.clientHost;
        member.sessionTimeoutMs = j.sessionTimeoutMs;
        member.rebalanceTimeoutMs = j.rebalanceTimeoutMs;
        member.expiresAt = now + member.sessionTimeoutMs;
        const result = { ...this.joinResult(group, newId, false), leader: previousLeader };
        this.out.write([groupRecord(group, null)], { kind: 'static-rejoin', to, result });
        return;
      }
      member.protocols = before;
    }
    this.updateMember(now, group, member, to, j);
  }

  prepareRebalance(now: number, group: Group): void {
    if (group.state === 'PreparingRebalance') {
      this.maybeCompleteJoin(now, group);
      return;
    }
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        if (m.syncReply !== null) this.out.reply(m.syncReply, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        m.syncReply = null;
      }
    }
    const rebalanceTimeout = maxRebalanceTimeout(group);
    if (group.state === 'Empty') {
      const delay = Math.min(this.opts.initialRebalanceDelayMs, rebalanceTimeout);
      group.joinDeadline = now + delay;
      group.initialDelay = { remainingMs: Math.max(rebalanceTimeout - delay, 0), newMemberAdded: false };
    } else {
      group.joinDeadline = now + rebalanceTimeout;
      group.initialDelay = null;
    }
    setState(group, 'PreparingRebalance', now);
    this.maybeCompleteJoin(now, group);
  }

  /** Completes the join phase early once every member (and no pending one) is waiting in it. */
  maybeCompleteJoin(now: number, group: Group): void {
    if (group.state !== 'PreparingRebalance' || group.initialDelay) return;
    if (group.pending.size > 0) return;
    for (const m of group.members.values()) if (m.joinReply === null) return;
    this.completeJoin(now, group);
  }

  private joinDeadlinePassed(now: number, group: Group): void {
    const d = group.initialDelay;
    if (d && d.newMemberAdded && d.remainingMs > 0) {
      const delay = Math.min(this.opts.initialRebalanceDelayMs, d.remainingMs);
      group.initialDelay = { remainingMs: Math.max(d.remainingMs - delay, 0), newMemberAdded: false };
      group.joinDeadline = now + delay;
      return;
    }
    this.completeJoin(now, group);
  }

  private completeJoin(now: number, group: Group): void {
    group.initialDelay = null;
    // Dynamic members that did not rejoin in time are gone; static ones keep their place.
    for (const m of [...group.members.values()]) if (m.joinReply === null && m.groupInstanceId === null) this.dropMember(group, m);
    if (group.members.size === 0) {
      group.generationId++;
      group.protocolName = null;
      group.leaderId = null;
      setState(group, 'Empty', now);
      this.out.write([groupRecord(group, null)], { kind: 'state' });
      return;
    }
    const leader = group.leaderId === null ? undefined : group.members.get(group.leaderId);
    if (!leader || leader.joinReply === null) {
      const joined = [...group.members.values()].find((m) => m.joinReply !== null);
      if (!joined) {
        // Only static members that have not rejoined: give them another rebalance timeout.
        group.joinDeadline = now + maxRebalanceTimeout(group);
        return;
      }
      group.leaderId = joined.memberId;
    }
    group.generationId++;
    group.protocolName = selectProtocol(group);
    setState(group, 'CompletingRebalance', now);
    for (const m of group.members.values()) {
      m.assignment = EMPTY_BYTES;
      m.expiresAt = now + m.sessionTimeoutMs;
      if (m.joinReply !== null) this.out.reply(m.joinReply, this.joinResult(group, m.memberId, m.memberId === group.leaderId));
      m.joinReply = null;
    }
  }

  private joinResult(group: Group, memberId: string, withMembers: boolean): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      skipAssignment: false,
      memberId,
      members: withMembers
        ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: memberMetadata(m, group.protocolName) }))
        : [],
    };
  }

  /** The leader's assignment for `group` (undefined when gone meanwhile) is written, or failed to be. */
  assignmentPersisted(now: number, group: Group | undefined, w: Extract<RebalanceWrite, { kind: 'assignment' }>, errorCode: number): void {
    if (!group || group.state !== 'CompletingRebalance' || group.generationId !== w.generationId) return;
    if (errorCode !== ErrorCode.NONE) {
      const code = writeError(errorCode, false);
      for (const m of group.members.values()) {
        if (m.syncReply !== null) this.out.reply(m.syncReply, syncError(code));
        m.syncReply = null;
      }
      this.prepareRebalance(now, group);
      return;
    }
    for (const m of group.members.values()) {
      m.assignment = w.assignments.get(m.memberId) ?? EMPTY_BYTES;
      if (m.syncReply !== null) {
        this.out.reply(m.syncReply, { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      }
      m.syncReply = null;
    }
    setState(group, 'Stable', now);
  }

  // ---- leaving and expiry ------------------------------------------------------------------

  leaveOne(now: number, group: Group, id: MemberIdentity): number {
    if (id.groupInstanceId !== null) {
      const held = group.staticMembers.get(id.groupInstanceId);
      if (held === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (id.memberId !== '' && id.memberId !== held) return ErrorCode.FENCED_INSTANCE_ID;
      this.removeMember(now, group, group.members.get(held)!);
      return ErrorCode.NONE;
    }
    if (group.pending.delete(id.memberId)) {
      this.maybeCompleteJoin(now, group);
      return ErrorCode.NONE;
    }
    const member = group.members.get(id.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(now, group, member);
    return ErrorCode.NONE;
  }

  /** Takes a member out and moves the group on (a rebalance, or the end of the join phase). */
  private removeMember(now: number, group: Group, member: Member): void {
    this.dropMember(group, member);
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(now, group);
    else if (group.state === 'PreparingRebalance') this.maybeCompleteJoin(now, group);
  }

  private dropMember(group: Group, member: Member): void {
    if (member.joinReply !== null) this.out.reply(member.joinReply, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    if (member.syncReply !== null) this.out.reply(member.syncReply, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.joinReply = member.syncReply = null;
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  expire(now: number, groups: Iterable<Group>): void {
    for (const group of [...groups]) {
      for (const [id, at] of group.pending) {
        if (at <= now) group.pending.delete(id);
      }
      for (const m of [...group.members.values()]) {
        if (m.joinReply === null && m.syncReply === null && m.expiresAt <= now && group.members.get(m.memberId) === m) this.removeMember(now, group, m);
      }
      this.maybeCompleteJoin(now, group);
      if (group.state === 'PreparingRebalance' && group.joinDeadline <= now) this.joinDeadlinePassed(now, group);
    }
  }

  // ---- checks ------------------------------------------------------------------------------

  validateMember(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const held = group.staticMembers.get(groupInstanceId);
      if (held === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (held !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }
}
