// A broker killed for real (SIGKILL) closes its connections, and the controller fences it
// half a second later instead of waiting out its session (30 s here): every partition it led
// gets a live leader, and every ISR it was in drops it, within a few seconds, also when the
// dead broker was the controller. A client that writes to a broker that does not lead is told
// who does and where it listens (KIP-951), without a Metadata round trip.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import type { MetadataResponse } from '../../src/shared/protocol/generated/metadata-response.js';
import type { ProduceResponse } from '../../src/shared/protocol/generated/produce-response.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { agreedController, call, metadata, startCluster, topicOn, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'fast-fence';
const SESSION_MS = 30_000;

let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster({ 'broker.session.timeout.ms': SESSION_MS, 'broker.heartbeat.interval.ms': 2000 });
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

/** Milliseconds from now until a survivor's Metadata shows `dead` gone from every partition. */
async function untilMovedAway(dead: number, via: number, limitMs: number): Promise<{ ms: number; md: MetadataResponse }> {
  const started = performance.now();
  const md = await waitFor(`broker ${dead} out of every partition`, limitMs, async () => {
    const m = await metadata(cluster.broker(via).port, [TOPIC], 1000).catch(() => undefined);
    const parts = m?.topics[0]?.partitions ?? [];
    const moved = parts.length === 3 && parts.every((p) => p.leaderId >= 0 && p.leaderId !== dead && !p.isrNodes.includes(dead));
    return moved ? m : undefined;
  }, 20);
  return { ms: performance.now() - started, md };
}

function produceV10(port: number, partition: number): Promise<ProduceResponse> {
  return call<ProduceResponse>(port, ApiKey.Produce, 10, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: buildRecordBatch({ records: [{ key: null, value: Buffer.from('x') }] }) }] }],
  });
}

t.test('SIGKILL of a broker, then of the controller: leaderships and ISR places move in seconds, not a session', async (t) => {
  const created = await call<{ topics: { errorCode: number }[] }>(cluster.broker(1).port, ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false,
  });
  t.equal(created.topics[0]!.errorCode, ErrorCode.NONE, 'a topic with three replicas per partition');
  for (const b of cluster.brokers) await topicOn(b.port, TOPIC, 10_000);
  const controller = await agreedController(cluster, 15_000);
  const victim = [1, 2, 3].find((id) => id !== controller)!;
  const witness = [1, 2, 3].find((id) => id !== controller && id !== victim)!;

  await cluster.broker(victim).kill('SIGKILL');
  const first = await untilMovedAway(victim, witness, 10_000);
  t.comment(`broker ${victim} killed: out of every leadership and ISR after ${first.ms.toFixed(0)} ms`);
  t.ok(first.ms < 3000, 'a killed broker is fenced within 3 s, its session being 30 s');

  // Ask the broker that does not lead partition p to take a write for it.
  const p = first.md.topics[0]!.partitions.find((x) => x.leaderId !== witness)!;
  const res = await produceV10(cluster.broker(witness).port, p.partitionIndex);
  const part = res.responses[0]!.partitionResponses[0]!;
  t.equal(part.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, 'the wrong broker refuses the write');
  t.same(part.currentLeader, { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch }, 'and names the leader and its epoch');
  const leader = cluster.broker(p.leaderId);
  t.same(res.nodeEndpoints, [{ nodeId: p.leaderId, host: '127.0.0.1', port: leader.port, rack: null }], 'and where the leader listens');

  await cluster.broker(victim).restart();
  await waitFor(`broker ${victim} back in every ISR`, 30_000, async () => {
    const m = await metadata(cluster.broker(witness).port, [TOPIC], 1000).catch(() => undefined);
    return m?.topics[0]?.partitions.every((x) => x.isrNodes.length === 3) ? true : undefined;
  });
  await cluster.broker(controller).kill('SIGKILL');
  const second = await untilMovedAway(controller, witness, 15_000);
  t.comment(`controller ${controller} killed: out of every leadership and ISR after ${second.ms.toFixed(0)} ms`);
  t.ok(second.ms < 5000, 'a killed controller is fenced by its successor within 5 s, its session being 30 s');
});
