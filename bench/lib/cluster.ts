/**
 * What a benchmark needs to know of the cluster behind a bootstrap address: it creates the
 * topic and learns which broker leads each partition, so produce requests go straight to
 * the leaders, and deletes the topic after the run so runs do not fill the disk. Uses
 * CreateTopics v7, DeleteTopics v6 and Metadata v12, which this broker and Kafka 4.x both
 * speak.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { ClientConnection } from '../../src/shared/client-connection.js';

const TOPIC_ALREADY_EXISTS = 36;

export interface Address {
  host: string;
  port: number;
}

export interface TopicLayout {
  /** Leader broker address of each partition, by partition index. */
  leaders: Address[];
}

export function parseBootstrap(bootstrap: string): Address[] {
  return bootstrap.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    if (i < 0) throw new Error(`bootstrap address ${hp} has no port`);
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
}

async function withConnection<T>(bootstrap: string, fn: (c: ClientConnection) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const a of parseBootstrap(bootstrap)) {
    let c: ClientConnection;
    try {
      c = await ClientConnection.connect(a.host, a.port, { clientId: 'bench' });
    } catch (err) {
      last = err;
      continue;
    }
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }
  throw last instanceof Error ? last : new Error(`no broker reachable at ${bootstrap}`);
}

/** Creates the topic (an existing one is kept) and waits until every partition has a leader. */
export async function createTopic(
  bootstrap: string,
  name: string,
  partitions: number,
  replicationFactor: number,
  configs: Record<string, string> = {},
): Promise<TopicLayout> {
  await withConnection(bootstrap, async (c) => {
    const res = await c.request(ApiKey.CreateTopics, 7, {
      topics: [{
        name,
        numPartitions: partitions,
        replicationFactor,
        assignments: [],
        configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: v })),
      }],
      timeoutMs: 30_000,
      validateOnly: false,
    });
    const t = res.topics[0];
    if (!t || (t.errorCode !== 0 && t.errorCode !== TOPIC_ALREADY_EXISTS)) {
      throw new Error(`CreateTopics ${name}: error ${t?.errorCode} ${t?.errorMessage ?? ''}`);
    }
  });
  return waitForLeaders(bootstrap, name, partitions);
}

export async function waitForLeaders(bootstrap: string, topic: string, partitions: number, timeoutMs = 30_000): Promise<TopicLayout> {
  const deadline = Date.now() + timeoutMs;
  return withConnection(bootstrap, async (c) => {
    for (;;) {
      const md = await c.request(ApiKey.Metadata, 12, {
        topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: topic }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      const brokers = new Map(md.brokers.map((b) => [b.nodeId, { host: b.host, port: b.port }]));
      const t = md.topics.find((x) => x.name === topic);
      const leaders: Address[] = [];
      for (const p of t?.partitions ?? []) {
        const b = brokers.get(p.leaderId);
        if (p.errorCode === 0 && b) leaders[p.partitionIndex] = b;
      }
      let ready = t !== undefined && t.errorCode === 0;
      for (let i = 0; i < partitions && ready; i++) ready = leaders[i] !== undefined;
      if (ready) return { leaders };
      if (Date.now() > deadline) throw new Error(`partitions of ${topic} have no leaders after ${timeoutMs} ms`);
      await sleep(100);
    }
  });
}

/** Deletes the topic; failures are returned, not thrown (the run's numbers stand anyway). */
export async function deleteTopic(bootstrap: string, name: string): Promise<string | null> {
  try {
    return await withConnection(bootstrap, async (c) => {
      const res = await c.request(ApiKey.DeleteTopics, 6, {
        topics: [{ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }],
        timeoutMs: 30_000,
      });
      const code = res.responses[0]?.errorCode ?? -1;
      return code === 0 ? null : `DeleteTopics ${name}: error ${code}`;
    });
  } catch (err) {
    return `DeleteTopics ${name}: ${(err as Error).message}`;
  }
}
