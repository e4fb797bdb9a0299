/**
 * Which connection writes which partitions: `perBroker` connections to each partition
 * leader, the leader's partitions dealt round-robin over them. With fewer partitions than
 * connections, several connections write the same partition.
 */
import { execFileSync } from 'node:child_process';
import { createTopic, deleteTopic, type TopicLayout } from './cluster.js';
import type { ConnectionPlan } from './load.js';
import { waitUntilWritable } from './readiness.js';

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

export interface FreshTopic {
  bootstrap: string;
  name: string;
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
  connectionsPerBroker: number;
}

/**
 * Creates the topic, waits until every partition takes writes at its leader, runs `load` with
 * the connection plan, and deletes the topic afterwards so that runs do not fill the disk.
 * Before the load, `sync` writes back what earlier cases left dirty in the page cache: without
 * it the kernel's writeback of one broker's case lands in the next case, often the other
 * broker's, and is charged to it.
 */
export async function onFreshTopic<T>(t: FreshTopic, load: (connections: ConnectionPlan[]) => Promise<T>): Promise<T> {
  const layout = await createTopic(t.bootstrap, t.name, t.partitions, t.replicationFactor, t.configs);
  try {
    const connections = planConnections(layout, t.connectionsPerBroker);
    await waitUntilWritable(t.name, connections);
    execFileSync('sync');
    return await load(connections);
  } finally {
    const err = await deleteTopic(t.bootstrap, t.name);
    if (err) console.error(err);
  }
}
