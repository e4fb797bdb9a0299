/**
 * Moving a consumer group member towards its target assignment, one step per heartbeat
 * (Kafka's CurrentAssignmentBuilder): first it gives up (revokes) what its target takes away,
 * and confirms that by no longer reporting it; then it gets what no other member holds any
 * more. Pure.
 */
import { add, has, isEmpty, overlaps, type ConsumerGroup, type ConsumerMember } from './consumer-group.js';
import { MemberStateCode, type Assignment } from './consumer-records.js';

/** Moves the member one step towards its target assignment. */
export function reconcile(now: number, group: ConsumerGroup, m: ConsumerMember, owned: Assignment | null): void {
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
  const held = heldByOthers(group, m.memberId);
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
function heldByOthers(group: ConsumerGroup, memberId: string): Set<string> {
  const out = new Set<string>();
  for (const o of group.members.values()) {
    if (o.memberId === memberId) continue;
    for (const a of [o.assigned, o.pendingRevocation]) for (const [t, ps] of a) for (const p of ps) out.add(`${t}:${p}`);
  }
  return out;
}

/**
 * Kafka's ConsumerGroup.waitingOnUnreleasedPartition: is a partition of the member's target
 * that it does not have yet still held by another member?
 */
export function waitsOnUnreleased(group: ConsumerGroup, m: ConsumerMember): boolean {
  if (m.state !== MemberStateCode.UNRELEASED_PARTITIONS) return false;
  const held = heldByOthers(group, m.memberId);
  for (const [t, ps] of group.target.get(m.memberId) ?? new Map<string, number[]>()) {
    for (const p of ps) if (!has(m.assigned, t, p) && held.has(`${t}:${p}`)) return true;
  }
  return false;
}
