/**
 * The server-side assignors of consumer groups (Kafka's `uniform` and `range`), pure: the
 * members' subscriptions and the subscribed topics' partition counts in, a target assignment
 * per member out. Both are deterministic, so a restarted coordinator computes the same.
 *
 * - uniform: every partition of a subscribed topic goes to one of its subscribers, counts kept
 *   within one of each other wherever the subscriptions allow; sticky: a partition stays with
 *   its previous owner unless balance needs it elsewhere.
 * - range: per topic, its subscribers (by member id) take consecutive ranges of partitions,
 *   the first `partitions % subscribers` one more; members subscribed to the same topics get
 *   the same partition numbers of each (co-partitioning, as joins need).
 */
import type { Assignment } from './consumer-records.js';

export interface AssignorMember {
  memberId: string;
  topics: readonly string[];
  /** The member's previous target assignment, for stickiness. */
  previous: Assignment;
}

export interface AssignorTopic {
  id: string;
  partitions: number;
}

export type Assignor = (members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>) => Map<string, Assignment>;

export const ASSIGNORS: Record<string, Assignor> = { uniform: uniformAssign, range: rangeAssign };

function toAssignment(owned: Iterable<[string, number]>): Assignment {
  const a: Assignment = new Map();
  for (const [topicId, p] of owned) {
    let list = a.get(topicId);
    if (!list) a.set(topicId, (list = []));
    list.push(p);
  }
  for (const list of a.values()) list.sort((x, y) => x - y);
  return new Map([...a].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

export function rangeAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, Assignment> {
  const owned = new Map<string, [string, number][]>(members.map((m) => [m.memberId, []]));
  for (const [name, topic] of [...topics].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const subscribers = members.filter((m) => m.topics.includes(name)).map((m) => m.memberId).sort();
    if (subscribers.length === 0) continue;
    const base = Math.floor(topic.partitions / subscribers.length);
    const extra = topic.partitions % subscribers.length;
    let next = 0;
    subscribers.forEach((id, i) => {
      const n = base + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) owned.get(id)!.push([topic.id, next++]);
    });
  }
  return new Map([...owned].map(([id, list]) => [id, toAssignment(list)]));
}

export function uniformAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, Assignment> {
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const subscribed = new Map<string, Set<string>>();
  for (const m of members) subscribed.set(m.memberId, new Set(m.topics));
  const topicName = new Map([...topics].map(([name, t]) => [t.id, name]));
  const count = new Map<string, number>(members.map((m) => [m.memberId, 0]));
  /** "topicId:partition" -> owner */
  const owner = new Map<string, string>();
  const eligible = (memberId: string, topicId: string): boolean => subscribed.get(memberId)!.has(topicName.get(topicId)!);

  // Keep what each member had, where the partition still exists and is still subscribed.
  for (const m of members) {
    for (const [topicId, partitions] of m.previous) {
      const name = topicName.get(topicId);
      if (name === undefined || !eligible(m.memberId, topicId)) continue;
      for (const p of partitions) {
        const k = `${topicId}:${p}`;
        if (p >= topics.get(name)!.partitions || owner.has(k)) continue;
        owner.set(k, m.memberId);
        count.set(m.memberId, count.get(m.memberId)! + 1);
      }
    }
  }

  // The rest to the least-loaded subscriber (ties: member id order).
  const order = [...byId.keys()].sort();
  for (const [name, topic] of [...topics].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const subscribers = order.filter((id) => subscribed.get(id)!.has(name));
    if (subscribers.length === 0) continue;
    for (let p = 0; p < topic.partitions; p++) {
      const k = `${topic.id}:${p}`;
      if (owner.has(k)) continue;
      let best = subscribers[0]!;
      for (const id of subscribers) if (count.get(id)! < count.get(best)!) best = id;
      owner.set(k, best);
      count.set(best, count.get(best)! + 1);
    }
  }

  // Balance: move a partition from a member to a subscriber holding at least two fewer, until
  // none can move. Each move lowers the sum of squared counts, so this ends.
  let moved = true;
  while (moved) {
    moved = false;
    for (const [k, from] of [...owner].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const topicId = k.slice(0, k.lastIndexOf(':'));
      let to: string | null = null;
      for (const id of order) {
        if (id === from || !eligible(id, topicId)) continue;
        if (count.get(id)! <= count.get(from)! - 2 && (to === null || count.get(id)! < count.get(to)!)) to = id;
      }
      if (to === null) continue;
      owner.set(k, to);
      count.set(from, count.get(from)! - 1);
      count.set(to, count.get(to)! + 1);
      moved = true;
    }
  }

  const lists = new Map<string, [string, number][]>(members.map((m) => [m.memberId, []]));
  for (const [k, id] of owner) {
    const i = k.lastIndexOf(':');
    lists.get(id)!.push([k.slice(0, i), Number(k.slice(i + 1))]);
  }
  return new Map([...lists].map(([id, list]) => [id, toAssignment(list)]));
}
