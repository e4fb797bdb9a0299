/**
 * The classic group protocol for the groups of one `__consumer_offsets` partition, as pure
 * logic: no timers, sockets or files. Every event carries `now` and returns Effects: replies to
 * complete (by the reply id the caller gave with the request) and records to append. A write's
 * outcome comes back through `persisted(token)`; the caller re-arms one timer at
 * `nextDeadline()` and calls `tick` when it fires. Randomness (member ids) is injected.
 *
 * Group states and the moves between them (Kafka's classic protocol):
 *
 *   Empty ──first join──> PreparingRebalance ──every member rejoined, or the join
 *     ^                     ^   │                deadline passed──> CompletingRebalance
 *     │                     │   └──no member left──> Empty                 │
 *     │                     │                                              │ leader's SyncGroup
 *     │                     └──join / leave / expiry / protocol change─────┤ persisted
 *     │                                                                    v
 *     └──────────────────(delete: Empty only)──> Dead              Stable ─┘
 *
 * - An empty group's first rebalance waits group.initial.rebalance.delay.ms, extended by that
 *   delay while members keep arriving, up to the rebalance timeout.
 * - A dynamic member's first JoinGroup (v4+) gets MEMBER_ID_REQUIRED with its new id.
 * - Each completed join starts a generation; the first member to have joined leads and gets
 *   every member's protocol metadata; followers wait in SyncGroup for the leader's
 *   assignment, which is persisted before anyone hears it.
 * - A member that neither heartbeats nor waits in a join or sync for its session timeout is
 *   removed. Static members (group.instance.id) survive a restart: a new join with their
 *   instance id takes over the old member id (the old one is fenced), without a rebalance when
 *   the group is Stable and the protocols are unchanged.
 * - Offsets commit only for the current generation's members (or, with generation -1 and no
 *   member id, into an Empty group) and count only once persisted.
 */
import { writeError } from '../coordinator-write-error.js';
import { ErrorCode } from '../errors.js';
import { ClassicRebalance, type RebalanceWrite } from './classic-rebalance.js';
import {
  joinError,
  syncError,
  type CommitInput,
  type DescribedGroup,
  type Effects,
  type FetchedOffset,
  type GroupOptions,
  type HeartbeatInput,
  type JoinInput,
  type ListedGroup,
  type MemberIdentity,
  type Reply,
  type SyncInput,
} from './group-io.js';
import {
  EMPTY_BYTES,
  groupRecord,
  loadGroupValue,
  memberMetadata,
  newGroup,
  offsetKey,
  subscribedTopics,
  supportsProtocols,
  unused,
  type Group,
} from './group.js';
import { commitRecords, committedOffsets, offsetDeletion, offsetsWritten, type OffsetWrite } from './group-offsets.js';
import { expiredOffsets } from './offset-expiry.js';
import { decodeGroupValue, decodeKey, decodeOffsetValue, encodeGroupKey, encodeOffsetKey, type GroupRecord } from './records.js';

type PendingWrite =
  | RebalanceWrite
  | OffsetWrite
  | { kind: 'delete'; to: number };

export class GroupStateMachine {
  private readonly groups = new Map<string, Group>();
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private nextToken = 1;
  private fx: Effects = { replies: [], writes: [] };
  private readonly rebalance: ClassicRebalance;

  constructor(private readonly opts: GroupOptions) {
    this.rebalance = new ClassicRebalance(opts, { reply: (to, result) => this.reply(to, result), write: (records, pending) => this.write(records, pending) });
  }

  // ---- events ----------------------------------------------------------------------------

  join(now: number, to: number, j: JoinInput): Effects {
    const fail = (code: number): Effects => this.finish(now, [{ to, result: joinError(code, j.memberId) }]);
    if (j.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (j.sessionTimeoutMs < this.opts.minSessionTimeoutMs || j.sessionTimeoutMs > this.opts.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(j.groupId);
    if (!group) {
      if (j.memberId !== '') return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      group = newGroup(j.groupId, now);
    }
    if (!supportsProtocols(group, j.protocolType, j.protocols)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    this.groups.set(group.groupId, group);
    if (j.memberId === '') this.rebalance.joinNewMember(now, group, to, j);
    else this.rebalance.joinKnownMember(now, group, to, j);
    return this.finish(now);
  }

  sync(now: number, to: number, s: SyncInput): Effects {
    const reply = (code: number): Effects => this.finish(now, [{ to, result: syncError(code) }]);
    const group = this.groups.get(s.groupId);
    if (!group) return reply(ErrorCode.UNKNOWN_MEMBER_ID);
    const invalid = this.rebalance.validateMember(group, s.memberId, s.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return reply(invalid);
    if (s.generationId !== group.generationId) return reply(ErrorCode.ILLEGAL_GENERATION);
    if ((s.protocolType !== null && s.protocolType !== group.protocolType) || (s.protocolName !== null && s.protocolName !== group.protocolName)) {
      return reply(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = group.members.get(s.memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        return reply(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        member.expiresAt = now + member.sessionTimeoutMs;
        return this.finish(now, [{ to, result: { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment } }]);
      case 'CompletingRebalance':
        if (member.syncReply !== null) this.reply(member.syncReply, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
        member.syncReply = to;
        member.expiresAt = now + member.sessionTimeoutMs;
        if (group.leaderId === member.memberId) {
          const assignments = new Map(s.assignments.map((a) => [a.memberId, a.assignment]));
          this.write([groupRecord(group, assignments)], { kind: 'assignment', groupId: group.groupId, generationId: group.generationId, assignments });
        }
        return this.finish(now);
      default:
        return reply(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  heartbeat(now: number, to: number, h: HeartbeatInput): Effects {
    const reply = (errorCode: number): Effects => this.finish(now, [{ to, result: { errorCode } }]);
    const group = this.groups.get(h.groupId);
    if (!group) return reply(ErrorCode.UNKNOWN_MEMBER_ID);
    const invalid = this.rebalance.validateMember(group, h.memberId, h.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return reply(invalid);
    if (h.generationId !== group.generationId) return reply(ErrorCode.ILLEGAL_GENERATION);
    if (group.state === 'Empty') return reply(ErrorCode.UNKNOWN_MEMBER_ID);
    const member = group.members.get(h.memberId)!;
    member.expiresAt = now + member.sessionTimeoutMs;
    return reply(group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE);
  }

  leave(now: number, to: number, groupId: string, members: MemberIdentity[]): Effects {
    const group = this.groups.get(groupId);
    if (!group) {
      const out = members.map((m) => ({ ...m, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }));
      return this.finish(now, [{ to, result: { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: out } }]);
    }
    const out = members.map((m) => ({ ...m, errorCode: this.rebalance.leaveOne(now, group, m) }));
    return this.finish(now, [{ to, result: { errorCode: ErrorCode.NONE, members: out } }]);
  }

  /**
   * Commits offsets for a member of the group's generation. `memberChecked`: the group is a
   * consumer group whose own machine has already checked the member, so only the offsets are
   * kept here.
   */
  commitOffsets(now: number, to: number, c: CommitInput, memberChecked = false): Effects {
    const all = (code: number): Effects => this.finish(now, [{ to, result: { errorCodes: c.offsets.map(() => code) } }]);
    let group = this.groups.get(c.groupId);
    if (memberChecked) {
      group ??= newGroup(c.groupId, now);
    } else if (!group) {
      if (c.generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
      group = newGroup(c.groupId, now);
    } else {
      const invalid = this.validateCommit(group, c);
      if (invalid !== ErrorCode.NONE) return all(invalid);
      const member = group.members.get(c.memberId);
      if (member) member.expiresAt = now + member.sessionTimeoutMs;
    }
    this.groups.set(group.groupId, group);
    const { errorCodes, offsets, records } = commitRecords(c.groupId, c.offsets, now, this.opts.maxMetadataBytes);
    if (records.length === 0) return this.finish(now, [{ to, result: { errorCodes } }]);
    this.write(records, { kind: 'commit', to, groupId: c.groupId, offsets, errorCodes });
    return this.finish(now);
  }

  deleteGroup(now: number, to: number, groupId: string): Effects {
    const reply = (errorCode: number): Effects => this.finish(now, [{ to, result: { errorCode } }]);
    const group = this.groups.get(groupId);
    if (!group) return reply(ErrorCode.GROUP_ID_NOT_FOUND);
    if (group.state !== 'Empty' || group.members.size > 0) return reply(ErrorCode.NON_EMPTY_GROUP);
    const records: GroupRecord[] = [{ key: encodeGroupKey(groupId), value: null }];
    for (const o of group.offsets.values()) records.push({ key: encodeOffsetKey(groupId, o.topic, o.partition), value: null });
    group.state = 'Dead';
    this.groups.delete(groupId);
    this.write(records, { kind: 'delete', to });
    return this.finish(now);
  }

  /**
   * OffsetDelete: removes the group's committed offsets of `partitions`, refusing the topics a
   * member still subscribes to. `consumerGroupSubscribes` is given when the group is a consumer
   * group (kept by its own machine), which then decides instead of this group's members.
   */
  deleteOffsets(now: number, to: number, groupId: string, partitions: { topic: string; partition: number }[], consumerGroupSubscribes: ((topic: string) => boolean) | null): Effects {
    const reply = (errorCode: number, codes: number[] = []): Effects => this.finish(now, [{ to, result: { errorCode, partitionErrors: codes } }]);
    const group = this.groups.get(groupId);
    if (!group && consumerGroupSubscribes === null) return reply(ErrorCode.GROUP_ID_NOT_FOUND);
    let subscribed = consumerGroupSubscribes;
    if (subscribed === null && group!.members.size > 0) {
      if (group!.protocolType !== 'consumer') return reply(ErrorCode.NON_EMPTY_GROUP);
      const topics = subscribedTopics(group!);
      subscribed = (topic) => topics.has(topic);
    }
    const { codes, records, gone } = offsetDeletion(group, groupId, partitions, subscribed);
    if (records.length === 0) return reply(ErrorCode.NONE, codes);
    this.write(records, { kind: 'offset-delete', to, groupId, keys: gone, errorCodes: codes });
    return this.finish(now);
  }

  /**
   * Writes tombstones for the committed offsets older than `retentionMs` (offset-expiry.ts has
   * which), and for a group left empty with none: Kafka's cleanupGroupMetadata. Offsets with a
   * commit on its way to the log are left for the next pass. `consumerGroupSubscribes` says,
   * for a KIP-848 consumer group (kept by its own machine), which topics it subscribes to.
   */
  expireOffsets(now: number, retentionMs: number, consumerGroupSubscribes: (groupId: string) => ((topic: string) => boolean) | null): Effects {
    const busy = new Set<string>();
    for (const w of this.pendingWrites.values()) if (w.kind === 'commit' || w.kind === 'expire' || w.kind === 'offset-delete') busy.add(w.groupId);
    for (const g of this.groups.values()) {
      if (busy.has(g.groupId)) continue;
      const expired = expiredOffsets(g, now, retentionMs, () => subscribedTopics(g), consumerGroupSubscribes(g.groupId));
      if (expired.length === 0) continue;
      const records: GroupRecord[] = expired.map((o) => ({ key: encodeOffsetKey(g.groupId, o.topic, o.partition), value: null }));
      const dropGroup = expired.length === g.offsets.size && g.state === 'Empty' && g.members.size === 0 && g.pending.size === 0;
      if (dropGroup) records.push({ key: encodeGroupKey(g.groupId), value: null });
      this.write(records, { kind: 'expire', groupId: g.groupId, offsets: expired, dropGroup });
    }
    return this.finish(now);
  }

  /** Is the group here a live classic group (given, to be read only), an empty one (offsets, an old generation), or none? */
  presence(groupId: string): 'absent' | 'empty' | Group {
    const g = this.groups.get(groupId);
    if (!g) return 'absent';
    return g.state === 'Empty' && g.members.size === 0 && g.pending.size === 0 ? 'empty' : g;
  }

  /**
   * The live group has become a consumer group (whose records said so): members waiting in a
   * join or sync are told to rejoin, and only the group's committed offsets stay here.
   */
  release(now: number, groupId: string): Effects {
    const group = this.groups.get(groupId);
    if (!group) return this.finish(now);
    for (const m of group.members.values()) {
      if (m.joinReply !== null) this.reply(m.joinReply, joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId));
      if (m.syncReply !== null) this.reply(m.syncReply, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    const left = newGroup(groupId, now);
    left.offsets = group.offsets;
    this.groups.set(groupId, left);
    return this.finish(now);
  }

  /** A consumer group has become this classic group (its records written): it rebalances the classic way. */
  adopt(now: number, group: Group): Effects {
    const old = this.groups.get(group.groupId);
    if (old) group.offsets = old.offsets;
    this.groups.set(group.groupId, group);
    this.rebalance.prepareRebalance(now, group);
    return this.finish(now);
  }

  /** The outcome of a write this machine asked for. */
  persisted(now: number, token: number, errorCode: number): Effects {
    const w = this.pendingWrites.get(token);
    if (!w) return this.finish(now);
    this.pendingWrites.delete(token);
    switch (w.kind) {
      case 'assignment':
        this.rebalance.assignmentPersisted(now, this.groups.get(w.groupId), w, errorCode);
        break;
      case 'static-rejoin':
        this.reply(w.to, errorCode === ErrorCode.NONE ? w.result : joinError(writeError(errorCode, false), w.result.memberId));
        break;
      case 'commit':
      case 'offset-delete':
      case 'expire': {
        const reply = offsetsWritten(this.groups, w, errorCode, now);
        if (reply !== null) this.reply(reply.to, reply.result);
        break;
      }
      case 'delete':
        this.reply(w.to, { errorCode: writeError(errorCode, false) });
        break;
      case 'state':
        break;
    }
    return this.finish(now);
  }

  /** Applies whatever deadlines have passed. */
  tick(now: number): Effects {
    return this.finish(now);
  }

  /** Answers everything still waiting with `errorCode`: the partition is being given up. */
  abandon(errorCode: number): Effects {
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        if (m.joinReply !== null) this.reply(m.joinReply, joinError(errorCode, m.memberId));
        if (m.syncReply !== null) this.reply(m.syncReply, syncError(errorCode));
        m.joinReply = m.syncReply = null;
      }
    }
    for (const w of this.pendingWrites.values()) {
      if (w.kind === 'static-rejoin') this.reply(w.to, joinError(errorCode, w.result.memberId));
      else if (w.kind === 'commit') this.reply(w.to, { errorCodes: w.errorCodes.map((c) => (c === ErrorCode.NONE ? errorCode : c)) });
      else if (w.kind === 'delete') this.reply(w.to, { errorCode });
      else if (w.kind === 'offset-delete') this.reply(w.to, { errorCode, partitionErrors: [] });
    }
    this.pendingWrites.clear();
    this.groups.clear();
    const fx = this.fx;
    this.fx = { replies: [], writes: [] };
    return fx;
  }

  // ---- loading -----------------------------------------------------------------------------

  /** Applies one record read back from the partition's log, in log order. */
  replay(now: number, key: Buffer, value: Buffer | null): void {
    const k = decodeKey(key);
    if (k.type === 'offset') {
      if (value === null) {
        const group = this.groups.get(k.group);
        group?.offsets.delete(offsetKey(k.topic, k.partition));
        if (group && unused(group)) this.groups.delete(k.group);
        return;
      }
      const v = decodeOffsetValue(value);
      this.loadedGroup(k.group, now).offsets.set(offsetKey(k.topic, k.partition), { topic: k.topic, partition: k.partition, ...v });
      return;
    }
    const old = this.groups.get(k.group);
    const group = newGroup(k.group, now);
    if (old) for (const [ok, o] of old.offsets) group.offsets.set(ok, o);
    if (value === null) {
      if (group.offsets.size > 0) this.groups.set(k.group, group);
      else this.groups.delete(k.group);
      return;
    }
    loadGroupValue(group, decodeGroupValue(value), now);
    this.groups.set(k.group, group);
  }

  /** Loading is over: members restored from the log get a full session from now to heartbeat. */
  loaded(now: number): void {
    for (const g of this.groups.values()) for (const m of g.members.values()) m.expiresAt = now + m.sessionTimeoutMs;
  }

  // ---- queries -----------------------------------------------------------------------------

  /** Committed offsets of `topics` (all of the group's when null); -1 where none is committed. */
  fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null): FetchedOffset[] {
    return committedOffsets(this.groups.get(groupId), topics);
  }

  describe(groupId: string): DescribedGroup {
    const g = this.groups.get(groupId);
    if (!g) return { groupId, errorCode: ErrorCode.NONE, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
    const stable = g.state === 'Stable';
    return {
      groupId,
      errorCode: ErrorCode.NONE,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? memberMetadata(m, g.protocolName) : EMPTY_BYTES,
        memberAssignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  list(): ListedGroup[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state }));
  }

  /** The earliest time at which `tick` has something to do, or null. */
  nextDeadline(): number | null {
    let next = Infinity;
    for (const g of this.groups.values()) {
      if (g.state === 'PreparingRebalance') next = Math.min(next, g.joinDeadline);
      for (const at of g.pending.values()) next = Math.min(next, at);
      for (const m of g.members.values()) if (m.joinReply === null && m.syncReply === null) next = Math.min(next, m.expiresAt);
    }
    return next === Infinity ? null : next;
  }

  /** Kafka's ClassicGroup.validateOffsetCommit. */
  private validateCommit(group: Group, c: CommitInput): number {
    if (c.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (c.generationId >= 0 || c.memberId !== '' || c.groupInstanceId !== null) {
      const invalid = this.rebalance.validateMember(group, c.memberId, c.groupInstanceId);
      if (invalid !== ErrorCode.NONE) return invalid;
      if (c.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (group.state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    return group.state === 'CompletingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  // ---- effects -----------------------------------------------------------------------------

  private loadedGroup(groupId: string, now: number): Group {
    let g = this.groups.get(groupId);
    if (!g) {
      g = newGroup(groupId, now);
      this.groups.set(groupId, g);
    }
    return g;
  }

  private reply(to: number, result: Reply['result']): void {
    this.fx.replies.push({ to, result });
  }

  private write(records: GroupRecord[], pending: PendingWrite): void {
    const token = this.nextToken++;
    this.pendingWrites.set(token, pending);
    this.fx.writes.push({ token, records });
  }

  /** Runs due deadlines, drops groups left with nothing, and hands over the effects. */
  private finish(now: number, replies: Reply[] = []): Effects {
    for (const r of replies) this.fx.replies.push(r);
    this.rebalance.expire(now, this.groups.values());
    for (const g of [...this.groups.values()]) if (unused(g)) this.groups.delete(g.groupId);
    const fx = this.fx;
    this.fx = { replies: [], writes: [] };
    return fx;
  }
}
