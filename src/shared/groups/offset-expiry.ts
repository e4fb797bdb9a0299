/**
 * Which committed offsets of a group have expired, as Kafka's group coordinator decides before
 * writing their tombstones (ClassicGroup.offsetExpirationCondition, run every
 * offsets.retention.check.interval.ms). An offset expires offsets.retention.minutes after its
 * base time:
 * - a group that is Empty (its members gone): the moment it became empty, for every offset;
 * - a Stable group of the `consumer` protocol: the offset's commit, for topics no member
 *   subscribes to;
 * - a group without protocol (offsets committed by a consumer without group membership, or
 *   those of a KIP-848 consumer group, whose machine says which topics it subscribes to): the
 *   offset's commit.
 * Other groups (rebalancing, or of another protocol) keep their offsets. Pure.
 */
import type { CommittedOffset, Group } from './group.js';

export function expiredOffsets(
  g: Group,
  now: number,
  retentionMs: number,
  subscribedTopics: () => Set<string>,
  consumerGroupSubscribes: ((topic: string) => boolean) | null,
): CommittedOffset[] {
  let base: (o: CommittedOffset) => number;
  let keep: (topic: string) => boolean = () => false;
  if (g.protocolType === null) {
    base = (o) => o.commitTimestamp;
    if (consumerGroupSubscribes) keep = consumerGroupSubscribes;
  } else if (g.state === 'Empty' && g.members.size === 0) {
    base = () => g.stateTimestamp;
  } else if (g.protocolType === 'consumer' && g.state === 'Stable') {
    const topics = subscribedTopics();
    base = (o) => o.commitTimestamp;
    keep = (topic) => topics.has(topic);
  } else {
    return [];
  }
  return [...g.offsets.values()].filter((o) => !keep(o.topic) && now - base(o) >= retentionMs);
}
