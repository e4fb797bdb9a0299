/**
 * A classic consumer group as the coordinator keeps it: its members, its generation and the
 * offsets committed for it; plus the pure helpers the state machine uses on them (protocol
 * choice, the group's record). Protocol metadata and assignments are opaque bytes: the
 * assignor runs in the group leader, so eager and cooperative protocols look alike here.
 */
import { Reader } from '../protocol/reader.js';
import { encodeGroupKey, encodeGroupValue, type GroupRecord, type GroupValue } from './records.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  /** In the member's order of preference. */
  protocols: Protocol[];
  assignment: Buffer;
  /** The JoinGroup waiting for the rebalance to complete (a reply id), or null. */
  joinReply: number | null;
  /** The SyncGroup waiting for the leader's assignment, or null. */
  syncReply: number | null;
  /** When the member is dropped unless it heartbeats (ignored while a join or sync waits). */
  expiresAt: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface Group {
  groupId: string;
  state: GroupState;
  stateTimestamp: number;
  protocolType: string | null;
  protocolName: string | null;
  generationId: number;
  leaderId: string | null;
  /** Insertion order is join order: the first to join leads when the leader leaves. */
  members: Map<string, Member>;
  /** group.instance.id -> the member id it holds now. */
  staticMembers: Map<string, string>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, and when they lapse if not used. */
  pending: Map<string, number>;
  /** When the PreparingRebalance phase ends whether or not every member rejoined. */
  joinDeadline: number;
  /** Set while an empty group waits group.initial.rebalance.delay.ms for more members. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null;
  /** Keyed by offsetKey(topic, partition). */
  offsets: Map<string, CommittedOffset>;
}

export const EMPTY_BYTES = Buffer.alloc(0);

export function offsetKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

export function newGroup(groupId: string, now: number): Group {
  return {
    groupId,
    state: 'Empty',
    stateTimestamp: now,
    protocolType: null,
    protocolName: null,
    generationId: 0,
    leaderId: null,
    members: new Map(),
    staticMembers: new Map(),
    pending: new Map(),
    joinDeadline: 0,
    initialDelay: null,
    offsets: new Map(),
  };
}

export function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

/** Can a member with these protocols join? (Kafka's `supportsProtocols`.) */
export function supportsProtocols(g: Group, protocolType: string, protocols: Protocol[]): boolean {
  if (g.members.size === 0) return protocolType.length > 0 && protocols.length > 0;
  if (protocolType !== g.protocolType) return false;
  return protocols.some((p) => [...g.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)));
}

/**
 * Kafka's protocol choice: among the protocols every member supports, each member votes for
 * the first of its own list; the most votes win, ties going to the earlier candidate.
 */
export function selectProtocol(g: Group): string | null {
  const members = [...g.members.values()];
  if (members.length === 0) return null;
  const candidates = members[0]!.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((q) => q.name === name)));
  if (candidates.length === 0) return null;
  const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
  for (const m of members) {
    const vote = m.protocols.find((p) => votes.has(p.name));
    if (vote) votes.set(vote.name, votes.get(vote.name)! + 1);
  }
  let best = candidates[0]!;
  for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
  return best;
}

export function memberMetadata(m: Member, protocolName: string | null): Buffer {
  return m.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
}

export function maxRebalanceTimeout(g: Group): number {
  let max = 0;
  for (const m of g.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
  return max;
}

/** The GroupMetadata record for the group as it is, with `assignments` as each member's. */
export function groupRecord(g: Group, assignments: ReadonlyMap<string, Buffer> | null): GroupRecord {
  return {
    key: encodeGroupKey(g.groupId),
    value: encodeGroupValue({
      protocolType: g.protocolType ?? '',
      generationId: g.generationId,
      protocolName: g.protocolName,
      leaderId: g.leaderId,
      stateTimestamp: g.stateTimestamp,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: memberMetadata(m, g.protocolName),
        assignment: (assignments ? assignments.get(m.memberId) : m.assignment) ?? EMPTY_BYTES,
      })),
    }),
  };
}

export function setState(g: Group, state: GroupState, now: number): void {
  g.state = state;
  g.stateTimestamp = now;
}

/** Fills `group` (fresh, maybe holding offsets) from its GroupMetadata record read back from the log. */
export function loadGroupValue(group: Group, v: GroupValue, now: number): void {
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
}

/**
 * The topics a classic `consumer` group's members subscribe to, read from their protocol
 * metadata (Kafka's ConsumerProtocolSubscription: version int16, then topics as an int32
 * count of int16-length strings); metadata that does not read as one is passed over.
 */
export function subscribedTopics(g: Group): Set<string> {
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
export function unused(g: Group): boolean {
  return g.state === 'Empty' && g.generationId === 0 && g.members.size === 0 && g.pending.size === 0 && g.offsets.size === 0;
}
