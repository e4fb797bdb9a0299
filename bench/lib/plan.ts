/**
 * Which connection writes which partitions: `perBroker` connections to each partition
 * leader, the leader's partitions dealt round-robin over them. With fewer partitions than
 * connections, several connections write the same partition.
 */
import type { TopicLayout } from './cluster.js';
import type { ConnectionPlan } from './load.js';

export function planConnections(layout: TopicLayout, perBroker: number): ConnectionPlan[] {
  const byBroker = new Map<string, { host: string; port: number; partitions: number[] }>();
  layout.leaders.forEach((a, partition) => {
    const key = `${a.host}:${a.port}`;
    let b = byBroker.get(key);
    if (!b) byBroker.set(key, (b = { host: a.host, port: a.port, partitions: [] }));
    b.partitions.push(partition);
  });
  const plans: ConnectionPlan[] = [];
  for (const b of byBroker.values()) {
    const n = Math.max(1, perBroker);
    for (let c = 0; c < n; c++) {
      const mine = b.partitions.length >= n
        ? b.partitions.filter((_, i) => i % n === c)
        : [b.partitions[c % b.partitions.length]!];
      plans.push({ host: b.host, port: b.port, partitions: mine });
    }
  }
  return plans;
}
