/**
 * Waits until every partition of a new topic accepts writes at its leader. Metadata can
 * name a leader a moment before that leader takes produce requests (Kafka answers
 * NOT_LEADER_OR_FOLLOWER meanwhile, and closes an acks=0 connection on it), so each
 * connection plan sends one small acks=1 request until all its partitions answer 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildBatch, buildProduceFrame, PRODUCE_VERSION } from './produce-frames.js';
import type { ConnectionPlan } from './load.js';
import { ClientConnection } from '../../src/shared/client-connection.js';

export async function waitUntilWritable(topic: string, plans: ConnectionPlan[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const batch = buildBatch(1, 1);
  for (const plan of plans) {
    const conn = await ClientConnection.connect(plan.host, plan.port, { clientId: 'bench' });
    try {
      for (;;) {
        const frame = buildProduceFrame(topic, plan.partitions, batch, 1, 5000);
        const res = await conn.exchange(ApiKey.Produce, PRODUCE_VERSION, frame);
        const failed = res.responses.flatMap((t) => t.partitionResponses).filter((p) => p.errorCode !== 0);
        if (failed.length === 0) break;
        if (Date.now() > deadline) throw new Error(`${topic}: partitions ${failed.map((p) => p.index)} not writable after ${timeoutMs} ms (error ${failed[0]!.errorCode})`);
        await sleep(100);
      }
    } finally {
      conn.close();
    }
  }
}
