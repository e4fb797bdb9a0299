/**
 * A consumer group's target assignment (Kafka's TargetAssignmentBuilder): the group epoch
 * moves when what the assignor sees changes (members, subscriptions, the subscribed topics'
 * partitions), and the server-side assignor then computes every member's target for that
 * epoch. Pure: the records to write are pushed onto the `records` given.
 */
import { ASSIGNORS, type AssignorTopic } from './consumer-assignors.js';
import type { HeartbeatRequest } from './consumer-group-io.js';
import { metadataValue, sameAssignment, type ConsumerGroup, type ConsumerMember } from './consumer-group.js';
import { groupEpochRecord, memberMetadataRecord, targetEpochRecord, targetMemberRecord, type ClassicMemberMetadata } from './consumer-records.js';
import type { GroupRecord } from './records.js';

export function bumpGroupEpoch(group: ConsumerGroup, records: GroupRecord[]): void {
  group.groupEpoch++;
  records.push(groupEpochRecord(group.groupId, group.groupEpoch));
}

export function subscribedTopics(m: ConsumerMember, topics: ReadonlyMap<string, AssignorTopic>): Set<string> {
  const out = new Set(m.subscribedTopicNames.filter((t) => topics.has(t)));
  if (m.subscribedTopicRegex !== null) {
    const re = new RegExp(`^(?:${m.subscribedTopicRegex})$`);
    for (const name of topics.keys()) if (!name.startsWith('__') && re.test(name)) out.add(name);
  }
  return out;
}

/** Recomputes the target when the group epoch moved past it or a subscribed topic changed. */
export function refreshTarget(group: ConsumerGroup, all: ReadonlyMap<string, AssignorTopic>, assignors: readonly string[], records: GroupRecord[]): void {
  const subscriptions = new Map([...group.members.values()].map((m) => [m.memberId, subscribedTopics(m, all)]));
  const topics = new Map<string, AssignorTopic>();
  for (const set of subscriptions.values()) for (const name of set) topics.set(name, all.get(name)!);
  const seen = [...topics].map(([name, t]) => `${name}:${t.id}:${t.partitions}`).sort().join(',');
  const compute = () =>
    ASSIGNORS[assignorOf(group, assignors)]!(
      [...group.members.values()].map((m) => ({ memberId: m.memberId, topics: [...subscriptions.get(m.memberId)!], previous: group.target.get(m.memberId) ?? new Map() })),
      topics,
    );
  if (group.topicsSeen === null) {
    // Just loaded: what the topics were is not stored, so a change shows as a changed target.
    group.topicsSeen = seen;
    const target = compute();
    if (group.groupEpoch === group.assignmentEpoch && [...target].every(([id, a]) => sameAssignment(a, group.target.get(id) ?? new Map()))) return;
    if (group.groupEpoch === group.assignmentEpoch) bumpGroupEpoch(group, records);
  } else if (seen !== group.topicsSeen) {
    group.topicsSeen = seen;
    // A change already under way (a join, a new subscription) covers this one.
    if (group.groupEpoch === group.assignmentEpoch) bumpGroupEpoch(group, records);
  }
  if (group.groupEpoch <= group.assignmentEpoch) return;
  const target = compute();
  for (const [id, a] of target) {
    if (!sameAssignment(a, group.target.get(id) ?? new Map())) records.push(targetMemberRecord(group.groupId, id, a));
  }
  group.target = target;
  group.assignmentEpoch = group.groupEpoch;
  records.push(targetEpochRecord(group.groupId, group.assignmentEpoch));
}

/** The assignor most members ask for, else the first configured. */
export function assignorOf(group: ConsumerGroup, assignors: readonly string[]): string {
  const votes = new Map<string, number>();
  for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
  let best = assignors[0]!;
  let most = 0;
  for (const name of assignors) {
    const n = votes.get(name) ?? 0;
    if (n > most) [best, most] = [name, n];
  }
  return best;
}

/**
 * Applies a heartbeat's member data (and, for a member on the classic protocol, its JoinGroup's
 * session and protocols); writes the member's record when it changed, and moves the group epoch
 * when the member is new or its subscription changed.
 */
export function updateMember(group: ConsumerGroup, member: ConsumerMember, req: HeartbeatRequest, classic: ClassicMemberMetadata | undefined, records: GroupRecord[]): void {
  const before = JSON.stringify(metadataValue(member));
  const subscriptionBefore = JSON.stringify([member.subscribedTopicNames, member.subscribedTopicRegex, member.serverAssignor]);
  if (req.subscribedTopicNames !== null) member.subscribedTopicNames = [...req.subscribedTopicNames].sort();
  if (req.subscribedTopicRegex !== null) member.subscribedTopicRegex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex;
  if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor;
  if (req.rackId !== null) member.rackId = req.rackId;
  if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  member.clientId = req.clientId;
  member.clientHost = req.clientHost;
  if (classic !== undefined) member.classic = classic;
  const isNew = req.memberEpoch === 0 && member.memberEpoch === 0 && !group.target.has(member.memberId);
  if (JSON.stringify(metadataValue(member)) !== before || isNew) {
    records.push(memberMetadataRecord(group.groupId, member.memberId, metadataValue(member)));
  }
  if (isNew || JSON.stringify([member.subscribedTopicNames, member.subscribedTopicRegex, member.serverAssignor]) !== subscriptionBefore) {
    bumpGroupEpoch(group, records);
  }
}
