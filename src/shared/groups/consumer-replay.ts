/**
 * Loading a consumer group from the records of its `__consumer_offsets` partition, read back
 * in log order (consumer-records.ts has their layouts). Pure.
 */
import { blankMember, newConsumerGroup, type ConsumerGroup, type MemberState } from './consumer-group.js';
import { decodeConsumerKey, decodeCurrentAssignmentValue, decodeEpochValue, decodeMemberMetadataValue, decodeTargetMemberValue } from './consumer-records.js';

/** Applies one record to `groups`; a member it creates must heartbeat by `expiresAt`. */
export function replayConsumerRecord(groups: Map<string, ConsumerGroup>, key: Buffer, value: Buffer | null, expiresAt: number): void {
  const k = decodeConsumerKey(key);
  if (k.type === 4) return;
  let group = groups.get(k.group);
  if (k.type === 3) {
    if (value === null) groups.delete(k.group);
    else {
      group ??= loadedGroup(groups, k.group);
      group.groupEpoch = decodeEpochValue(value);
    }
    return;
  }
  if (value === null && !group) return;
  group ??= loadedGroup(groups, k.group);
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
  const member = group.members.get(k.member) ?? blankMember(k.member, expiresAt);
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

function loadedGroup(groups: Map<string, ConsumerGroup>, groupId: string): ConsumerGroup {
  const g = newConsumerGroup(groupId);
  // What the topics were when the target was computed is not stored: learned again on the next event.
  g.topicsSeen = null;
  groups.set(groupId, g);
  return g;
}
