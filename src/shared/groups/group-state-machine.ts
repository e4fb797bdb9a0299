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
  type JoinResult,
  type ListedGroup,
  type MemberIdentity,
  type Reply,
  type SyncInput,
} from './group-io.js';
import {
  EMPTY_BYTES,
  groupRecord,
  maxRebalanceTimeout,
  memberMetadata,
  newGroup,
  offsetKey,
  sameProtocols,
  selectProtocol,
  supportsProtocols,
  type CommittedOffset,
  type Group,
  type GroupState,
  type Member,
} from './group.js';
import { Reader } from '../protocol/reader.js';
import { expiredOffsets } from './offset-expiry.js';
import { decodeGroupValue, decodeKey, decodeOffsetValue, encodeGroupKey, encodeOffsetKey, encodeOffsetValue, type GroupRecord } from './records.js';

type PendingWrite =
  | { kind: 'assignment'; groupId: string; generationId: number; assignments: Map<string, Buffer> }
  | { kind: 'static-rejoin'; to: number; result: JoinResult }
  | { kind: 'commit'; to: number; groupId: string; offsets: CommittedOffset[]; errorCodes: number[] }
  | { kind: 'delete'; to: number }
  | { kind: 'offset-delete'; to: number; groupId: string; keys: string[]; errorCodes: number[] }
  /** Expired offsets' tombstones (and the group's, `dropGroup`, when nothing of it is left). */
  | { kind: 'expire'; groupId: string; offsets: CommittedOffset[]; dropGroup: boolean }
  | { kind: 'state' };

export class GroupStateMachine {
  private readonly groups = new Map<string, Group>();
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private nextToken = 1;
  private fx: Effects = { replies: [], writes: [] };

  constructor(private readonly opts: GroupOptions) {}

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
    if (j.memberId === '') this.joinNewMember(now, group, to, j);
    else this.joinKnownMember(now, group, to, j);
    return this.finish(now);
  }

  sync(now: number, to: number, s: SyncInput): Effects {
    const reply = (code: number): Effects => this.finish(now, [{ to, result: syncError(code) }]);
    const group = this.groups.get(s.groupId);
    if (!group) return reply(ErrorCode.UNKNOWN_MEMBER_ID);
    const invalid = this.validateMember(group, s.memberId, s.groupInstanceId);
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
    const invalid = this.validateMember(group, h.memberId, h.groupInstanceId);
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
    const out = members.map((m) => ({ ...m, errorCode: this.leaveOne(now, group, m) }));
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
    const errorCodes: number[] = [];
    const offsets: CommittedOffset[] = [];
    const records: GroupRecord[] = [];
    for (const o of c.offsets) {
      const metadata = o.metadata ?? '';
      if (Buffer.byteLength(metadata) > this.opts.maxMetadataBytes) {
        errorCodes.push(ErrorCode.OFFSET_METADATA_TOO_LARGE);
        continue;
      }
      errorCodes.push(ErrorCode.NONE);
      const committed = { topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata, commitTimestamp: now };
      offsets.push(committed);
      records.push({ key: encodeOffsetKey(c.groupId, o.topic, o.partition), value: encodeOffsetValue(committed) });
    }
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
    const codes: number[] = [];
    const records: GroupRecord[] = [];
    const gone: string[] = [];
    for (const p of partitions) {
      if (subscribed?.(p.topic)) {
        codes.push(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
        continue;
      }
      codes.push(ErrorCode.NONE);
      const k = offsetKey(p.topic, p.partition);
      if (group?.offsets.has(k) && !gone.includes(k)) {
        gone.push(k);
        records.push({ key: encodeOffsetKey(groupId, p.topic, p.partition), value: null });
      }
    }
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

  /** Is the group here a live classic group, an empty one (offsets, an old generation), or none? */
  presence(groupId: string): 'absent' | 'empty' | 'active' {
    const g = this.groups.get(groupId);
    if (!g) return 'absent';
    return g.state === 'Empty' && g.members.size === 0 && g.pending.size === 0 ? 'empty' : 'active';
  }

  /** The outcome of a write this machine asked for. */
  persisted(now: number, token: number, errorCode: number): Effects {
    const w = this.pendingWrites.get(token);
    if (!w) return this.finish(now);
    this.pendingWrites.delete(token);
    switch (w.kind) {
      case 'assignment':
        this.assignmentPersisted(now, w, errorCode);
        break;
      case 'static-rejoin':
        this.reply(w.to, errorCode === ErrorCode.NONE ? w.result : joinError(writeError(errorCode, false), w.result.memberId));
        break;
      case 'commit': {
        if (errorCode === ErrorCode.NONE) {
          const group = this.groups.get(w.groupId) ?? newGroup(w.groupId, now);
          this.groups.set(w.groupId, group);
          for (const o of w.offsets) group.offsets.set(offsetKey(o.topic, o.partition), o);
        }
        const failed = writeError(errorCode, true);
        this.reply(w.to, { errorCodes: w.errorCodes.map((c) => (c === ErrorCode.NONE ? failed : c)) });
        break;
      }
      case 'delete':
        this.reply(w.to, { errorCode: writeError(errorCode, false) });
        break;
      case 'offset-delete': {
        const group = this.groups.get(w.groupId);
        if (errorCode === ErrorCode.NONE) for (const k of w.keys) group?.offsets.delete(k);
        this.reply(w.to, errorCode === ErrorCode.NONE ? { errorCode, partitionErrors: w.errorCodes } : { errorCode: writeError(errorCode, false), partitionErrors: [] });
        break;
      }
      case 'expire': {
        const group = this.groups.get(w.groupId);
        if (errorCode !== ErrorCode.NONE || !group) break;
        // An offset committed again meanwhile is a new one: it stays.
        for (const o of w.offsets) if (group.offsets.get(offsetKey(o.topic, o.partition)) === o) group.offsets.delete(offsetKey(o.topic, o.partition));
        if (w.dropGroup && group.offsets.size === 0 && group.state === 'Empty' && group.members.size === 0 && group.pending.size === 0) this.groups.delete(w.groupId);
        break;
      }
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
    const v = decodeGroupValue(value);
    group.protocolType = v.protocolType === '' && v.members.length === 0 ? null : v.protocolType;
    group.generationId = v.generationId;
    group.protocolName = v.protocolName;
    group.leaderId = v.leaderId;
    group.stateTimestamp = v.stateTimestamp >= 0 ? v.stateTimestamp : now;
    for (const m of v.members) {
      group.members.set(m.memberId, {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        sessionTimeoutMs: m.sessionTimeoutMs,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        protocols: [{ name: v.protocolName ?? '', metadata: m.subscription }],
        assignment: m.assignment,
        joinReply: null,
        syncReply: null,
        expiresAt: now + m.sessionTimeoutMs,
      });
      if (m.groupInstanceId !== null) group.staticMembers.set(m.groupInstanceId, m.memberId);
    }
    group.state = group.members.size > 0 ? 'Stable' : 'Empty';
    this.groups.set(k.group, group);
  }

  /** Loading is over: members restored from the log get a full session from now to heartbeat. */
  loaded(now: number): void {
    for (const g of this.groups.values()) for (const m of g.members.values()) m.expiresAt = now + m.sessionTimeoutMs;
  }

  // ---- queries -----------------------------------------------------------------------------

  /** Committed offsets of `topics` (all of the group's when null); -1 where none is committed. */
  fetchOffsets(groupId: string, topics: { name: string; partitions: number[] }[] | null): FetchedOffset[] {
    const group = this.groups.get(groupId);
    const found = (o: CommittedOffset): FetchedOffset => ({ ...o, errorCode: ErrorCode.NONE });
    if (topics === null) return group ? [...group.offsets.values()].map(found) : [];
    return topics.flatMap((t) =>
      t.partitions.map((p) => {
        const o = group?.offsets.get(offsetKey(t.name, p));
        return o ? found(o) : { topic: t.name, partition: p, offset: -1, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
      }),
    );
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

  // ---- joining -----------------------------------------------------------------------------

  private joinNewMember(now: number, group: Group, to: number, j: JoinInput): void {
    const memberId = this.opts.newMemberId(j.clientId);
    if (j.groupInstanceId !== null) {
      const held = group.staticMembers.get(j.groupInstanceId);
      if (held !== undefined) return this.replaceStaticMember(now, group, held, memberId, to, j);
    } else if (j.requireKnownMemberId) {
      group.pending.set(memberId, now + j.sessionTimeoutMs);
      this.reply(to, joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      return;
    }
    this.addMember(now, group, memberId, to, j);
  }

  private joinKnownMember(now: number, group: Group, to: number, j: JoinInput): void {
    if (group.pending.has(j.memberId) && j.groupInstanceId === null) {
      group.pending.delete(j.memberId);
      return this.addMember(now, group, j.memberId, to, j);
    }
    const invalid = this.validateMember(group, j.memberId, j.groupInstanceId);
    if (invalid !== ErrorCode.NONE) return this.reply(to, joinError(invalid, j.memberId));
    const member = group.members.get(j.memberId)!;
    const unchanged = sameProtocols(member.protocols, j.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMember(now, group, member, to, j);
      case 'CompletingRebalance':
        if (!unchanged) return this.updateMember(now, group, member, to, j);
        return this.reply(to, this.joinResult(group, member.memberId, group.leaderId === member.memberId));
      case 'Stable':
        if (!unchanged || group.leaderId === member.memberId) return this.updateMember(now, group, member, to, j);
        member.expiresAt = now + member.sessionTimeoutMs;
        return this.reply(to, this.joinResult(group, member.memberId, false));
      default:
        return this.reply(to, joinError(ErrorCode.UNKNOWN_MEMBER_ID, j.memberId));
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
    if (member.joinReply !== null && member.joinReply !== to) this.reply(member.joinReply, joinError(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
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
    if (member.joinReply !== null) this.reply(member.joinReply, joinError(ErrorCode.FENCED_INSTANCE_ID, oldId));
    if (member.syncReply !== null) this.reply(member.syncReply, syncError(ErrorCode.FENCED_INSTANCE_ID));
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
        this.write([groupRecord(group, null)], { kind: 'static-rejoin', to, result });
        return;
      }
      member.protocols = before;
    }
    this.updateMember(now, group, member, to, j);
  }

  private prepareRebalance(now: number, group: Group): void {
    if (group.state === 'PreparingRebalance') {
      this.maybeCompleteJoin(now, group);
      return;
    }
    if (group.state === 'CompletingRebalance') {
      for (const m of group.members.values()) {
        if (m.syncReply !== null) this.reply(m.syncReply, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
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
    this.transition(now, group, 'PreparingRebalance');
    this.maybeCompleteJoin(now, group);
  }

  /** Completes the join phase early once every member (and no pending one) is waiting in it. */
  private maybeCompleteJoin(now: number, group: Group): void {
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
      this.transition(now, group, 'Empty');
      this.write([groupRecord(group, null)], { kind: 'state' });
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
    this.transition(now, group, 'CompletingRebalance');
    for (const m of group.members.values()) {
      m.assignment = EMPTY_BYTES;
      m.expiresAt = now + m.sessionTimeoutMs;
      if (m.joinReply !== null) this.reply(m.joinReply, this.joinResult(group, m.memberId, m.memberId === group.leaderId));
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

  private assignmentPersisted(now: number, w: Extract<PendingWrite, { kind: 'assignment' }>, errorCode: number): void {
    const group = this.groups.get(w.groupId);
    if (!group || group.state !== 'CompletingRebalance' || group.generationId !== w.generationId) return;
    if (errorCode !== ErrorCode.NONE) {
      const code = writeError(errorCode, false);
      for (const m of group.members.values()) {
        if (m.syncReply !== null) this.reply(m.syncReply, syncError(code));
        m.syncReply = null;
      }
      this.prepareRebalance(now, group);
      return;
    }
    for (const m of group.members.values()) {
      m.assignment = w.assignments.get(m.memberId) ?? EMPTY_BYTES;
      if (m.syncReply !== null) {
        this.reply(m.syncReply, { errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      }
      m.syncReply = null;
    }
    this.transition(now, group, 'Stable');
  }

  // ---- leaving and expiry ------------------------------------------------------------------

  private leaveOne(now: number, group: Group, id: MemberIdentity): number {
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
    if (member.joinReply !== null) this.reply(member.joinReply, joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    if (member.syncReply !== null) this.reply(member.syncReply, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    member.joinReply = member.syncReply = null;
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private expire(now: number): void {
    for (const group of [...this.groups.values()]) {
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

  private validateMember(group: Group, memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const held = group.staticMembers.get(groupInstanceId);
      if (held === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (held !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return group.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /** Kafka's ClassicGroup.validateOffsetCommit. */
  private validateCommit(group: Group, c: CommitInput): number {
    if (c.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (c.generationId >= 0 || c.memberId !== '' || c.groupInstanceId !== null) {
      const invalid = this.validateMember(group, c.memberId, c.groupInstanceId);
      if (invalid !== ErrorCode.NONE) return invalid;
      if (c.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (group.state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    return group.state === 'CompletingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  // ---- effects -----------------------------------------------------------------------------

  private transition(now: number, group: Group, state: GroupState): void {
    group.state = state;
    group.stateTimestamp = now;
  }

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
    this.expire(now);
    for (const g of [...this.groups.values()]) if (unused(g)) this.groups.delete(g.groupId);
    const fx = this.fx;
    this.fx = { replies: [], writes: [] };
    return fx;
  }
}

/**
 * The topics a classic `consumer` group's members subscribe to, read from their protocol
 * metadata (Kafka's ConsumerProtocolSubscription: version int16, then topics as an int32
 * count of int16-length strings); metadata that does not read as one is passed over.
 */
function subscribedTopics(g: Group): Set<string> {
  const topics = new Set<string>();
  for (const m of g.members.values()) {
    try {
      const r = new Reader(memberMetadata(m, g.protocolName));
      r.int16();
      const n = r.arrayLength();
      for (let i = 0; i < n; i++) topics.add(r.string());
    } catch {
      continue;
    }
  }
  return topics;
}

/** A group that never formed a generation and holds no offsets: nothing worth keeping. */
function unused(g: Group): boolean {
  return g.state === 'Empty' && g.generationId === 0 && g.members.size === 0 && g.pending.size === 0 && g.offsets.size === 0;
}
