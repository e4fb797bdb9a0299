// A worker thread of a broker dies for real (ended from outside by the thread-killer fixture,
// see fixtures/thread-killer.mjs) while a request waits on it: the request is answered at once
// with a retriable error, the broker exits non-zero, and the controller moves everything the
// broker led or followed within seconds (its session being 30 s). First a partition worker
// (an acks=all write waits for followers that are paused), then a raft worker (a CreateTopics
// waits for a quorum that is paused).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { WireClient } from '../clients/wire-client.js';
import type { BrokerProcess } from '../helpers/broker.js';
import { activeController, call, metadata, startCluster, topicOn, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'crash';
const KILLER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/thread-killer.mjs');

let cluster: Cluster;

t.before(async () => {
  cluster = await startCluster({ 'broker.session.timeout.ms': 30_000, 'broker.heartbeat.interval.ms': 2000, 'min.insync.replicas': 2 }, 3, ['--import', KILLER]);
  const created = await call<{ topics: { errorCode: number }[] }>(cluster.broker(1).port, ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] }], timeoutMs: 15_000, validateOnly: false,
  });
  if (created.topics[0]!.errorCode !== ErrorCode.NONE) throw new Error(`CreateTopics: ${created.topics[0]!.errorCode}`);
  for (const b of cluster.brokers) await topicOn(b.port, TOPIC, 10_000);
  await fullIsr(1);
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

function exitCode(b: BrokerProcess): Promise<number | null> {
  if (b.proc.exitCode !== null || b.proc.signalCode !== null) return Promise.resolve(b.proc.exitCode);
  return new Promise((resolve) => b.proc.once('exit', (code) => resolve(code)));
}

/** Until a survivor's Metadata shows `dead` out of every leadership and ISR. */
function movedAway(dead: number, via: number, limitMs: number): Promise<unknown> {
  return waitFor(`broker ${dead} out of every partition`, limitMs, async () => {
    const m = await metadata(cluster.broker(via).port, [TOPIC], 1000).catch(() => undefined);
    const parts = m?.topics[0]?.partitions ?? [];
    return parts.length === 3 && parts.every((p) => p.leaderId >= 0 && p.leaderId !== dead && !p.isrNodes.includes(dead)) ? true : undefined;
  }, 20);
}

function fullIsr(via: number): Promise<unknown> {
  return waitFor('every ISR full', 30_000, async () => {
    const m = await metadata(cluster.broker(via).port, [TOPIC], 1000).catch(() => undefined);
    return m?.topics[0]?.partitions.every((p) => p.isrNodes.length === 3) ? true : undefined;
  });
}

t.test('a partition worker dies while an acks=all write waits on it', async (t) => {
  const md = await metadata(cluster.broker(1).port, [TOPIC]);
  const p = md.topics[0]!.partitions[0]!;
  const victim = cluster.broker(p.leaderId);
  const others = cluster.brokers.filter((b) => b !== victim);
  const client = await WireClient.connect(victim.port);
  t.teardown(() => client.close());
  for (const b of others) b.proc.kill('SIGSTOP');
  const started = performance.now();
  const waiting = client.request<{ responses: { partitionResponses: { errorCode: number }[] }[] }>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 25_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: p.partitionIndex, records: buildRecordBatch({ records: [{ key: null, value: Buffer.from('w') }] }) }] }],
  });
  // Whether the write already waits in the worker for the paused followers, is still in the
  // request ring, or arrives after the worker is gone, the answer must be the same.
  const exited = exitCode(victim);
  victim.proc.kill('SIGUSR2');
  const res = await waiting;
  const ms = performance.now() - started;
  for (const b of others) b.proc.kill('SIGCONT');
  const code = res.responses[0]!.partitionResponses[0]!.errorCode;
  t.equal(code, ErrorCode.NOT_LEADER_OR_FOLLOWER, `the waiting write gets a retriable error (${code})`);
  t.ok(ms < 5000, `at once, not at its 25 s timeout (${ms.toFixed(0)} ms)`);
  t.equal(await exited, 1, 'the broker exits with code 1');
  const witness = others[0]!.nodeId;
  await movedAway(victim.nodeId, witness, 5000);
  t.pass('its leaderships and ISR places moved within 5 s');
  await victim.restart();
  await fullIsr(witness);
});

t.test('a raft worker dies while a CreateTopics waits on it', async (t) => {
  const controller = await activeController(cluster.broker(1).port);
  const victim = cluster.brokers.find((b) => b.nodeId !== controller)!;
  const others = cluster.brokers.filter((b) => b !== victim);
  const client = await WireClient.connect(victim.port);
  t.teardown(() => client.close());
  for (const b of others) b.proc.kill('SIGSTOP');
  const started = performance.now();
  const waiting = client.request<{ topics: { errorCode: number }[] }>(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'never', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 25_000, validateOnly: false,
  });
  const exited = exitCode(victim);
  victim.proc.kill('SIGHUP');
  const res = await waiting;
  const ms = performance.now() - started;
  for (const b of others) b.proc.kill('SIGCONT');
  t.equal(res.topics[0]!.errorCode, ErrorCode.NOT_CONTROLLER, `the waiting CreateTopics gets a retriable error (${res.topics[0]!.errorCode})`);
  t.ok(ms < 5000, `at once, not at its 25 s timeout (${ms.toFixed(0)} ms)`);
  t.equal(await exited, 1, 'the broker exits with code 1');
  await movedAway(victim.nodeId, others[0]!.nodeId, 5000);
  t.pass('its leaderships and ISR places moved within 5 s');
});
