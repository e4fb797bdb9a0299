// The high watermark across restarts, three brokers, RF 3, acks=all. The broker that leads
// the partition is restarted, once cleanly and once by SIGKILL, and made leader again; from
// then on neither ListOffsets (latest) nor a consumer's Fetch ever shows a high watermark below
// what was acknowledged before, and every acknowledged record is read back. Before each
// restart its data dir's replication-offset-checkpoint holds a mark covering every
// acknowledged record: written at the clean stop, or by the periodic checkpoint before the kill.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { call, metadata, startCluster, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'hw-restart';
/** The broker restarted, first in the replica list so that a preferred election makes it leader. */
const RESTARTED = 2;
/** Answers sampled from the restarted leader after each election. */
const SAMPLES = 20;
let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster({ 'auto.leader.rebalance.enable': 'false', 'replica.high.watermark.checkpoint.interval.ms': 200 });
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

async function partition0(port: number) {
  const md = await metadata(port, [TOPIC]);
  return md.topics[0]!.partitions.find((p) => p.partitionIndex === 0)!;
}

/** The mark the broker's checkpoint holds for the partition (-1: none). */
function checkpointed(dataDir: string): number {
  const file = path.join(dataDir, 'replication-offset-checkpoint');
  if (!fs.existsSync(file)) return -1;
  const line = fs.readFileSync(file, 'utf8').split('\n').slice(2).find((l) => l.startsWith(`${TOPIC} 0 `));
  return line ? Number(line.split(' ')[2]) : -1;
}

/** ListOffsets latest on `port`: the offset, or the error it answered. */
async function latest(port: number): Promise<{ error: number; offset: number }> {
  const res = await call<any>(port, ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
  const p = res.topics[0].partitions[0];
  return { error: p.errorCode, offset: Number(p.offset) };
}

t.test('a restarted broker that leads again never shows a high watermark below what was acknowledged', async (t) => {
  const kafka = new Kafka({ clientId: 'hw-restart', brokers: cluster.brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [RESTARTED, 1, 3] }] }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  const values: string[] = [];
  const send = async (prefix: string) => {
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: `${prefix}-${i}` }] });
      values.push(`${prefix}-${i}`);
    }
  };
  await send('first');
  const broker = cluster.broker(RESTARTED);

  for (const how of ['clean', 'SIGKILL'] as const) {
    const acked = values.length;
    t.equal((await partition0(cluster.broker(1).port)).leaderId, RESTARTED, `before the ${how} restart, broker ${RESTARTED} leads`);
    if (how === 'clean') {
      t.equal(await broker.stop(), 0, `broker ${RESTARTED} stops cleanly`);
    } else {
      await waitFor('the periodic checkpoint to cover every acknowledged record', 10_000, async () => (checkpointed(broker.dataDir) >= acked ? true : undefined));
      await broker.kill('SIGKILL');
    }
    t.ok(checkpointed(broker.dataDir) >= acked, `its replication-offset-checkpoint covers the ${acked} acknowledged records`);
    await waitFor('another leader', 15_000, async () => ((await partition0(cluster.broker(1).port)).leaderId !== RESTARTED ? true : undefined));
    await send(`during-${how}`);
    const before = values.length;
    await broker.restart();
    await waitFor(`broker ${RESTARTED} back in the ISR`, 30_000, async () => ((await partition0(cluster.broker(1).port)).isrNodes.includes(RESTARTED) ? true : undefined));
    const elected = await call<any>(cluster.broker(1).port, ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 10_000 });
    t.equal(elected.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.NONE, `broker ${RESTARTED} is elected leader again`);

    const wire = await WireClient.connect(broker.port);
    const seen: number[] = [];
    let refused = 0;
    while (seen.length < SAMPLES) {
      const l = await latest(broker.port);
      if (l.error === ErrorCode.NONE) seen.push(l.offset);
      else refused++;
      const read = await readPartition(wire, TOPIC, 0, before).catch(() => undefined);
      if (read) seen.push(read.highWatermark);
      else refused++;
    }
    wire.close();
    t.comment(`after the ${how} restart: ${refused} retriable refusals, high watermarks seen ${Math.min(...seen)}..${Math.max(...seen)}`);
    t.ok(seen.every((hw) => hw >= before), `after the ${how} restart, ListOffsets and Fetch never show a mark below the ${before} acknowledged records`);
  }

  const all = await readPartition(await WireClient.connect(broker.port), TOPIC, 0);
  t.same(all.records.map((r) => r.value?.toString()), values, 'every acknowledged record is read back from the restarted leader, in order');
});
