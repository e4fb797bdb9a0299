// Replication throttles on a three-broker cluster, set as kafka-reassign-partitions --throttle
// sets them: a partition holding ~20 MB on broker 1 gets a new replica on broker 3, with
// leader.replication.throttled.replicas=0:1 and follower.replication.throttled.replicas=0:3.
// With leader.replication.throttled.rate at 1 MB/s on broker 1, broker 3's copy grows at about
// that rate; with the leader's bound lifted and follower.replication.throttled.rate at 1 MB/s on
// broker 3 instead, the copy's average stays about that rate; once every throttle is removed (as --verify does)
// the copy completes faster than the throttle would let it. Broker 1's metrics show the leader
// throttle's byte rate, broker 3's the follower one's. A producer writes with acks=all throughout, and broker 3, made
// leader at the end, holds every acknowledged record.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { freePort } from '../helpers/broker.js';
import { scrape, value } from '../metrics/metrics-helpers.js';
import { call, metadata, startCluster, waitFor, type Cluster } from './fixtures/cluster.js';

const TOPIC = 'throttled';
const RATE = 1024 * 1024;
/** The band a throttled copy's rate must fall in, as multiples of RATE; an unthrottled one must beat its top. */
const BAND = [0.4, 1.6] as const;
const BATCHES = 22;
const PER_BATCH = 900;
const VALUE_BYTES = 1024;
const TOPIC_RESOURCE = 2;
const BROKER_RESOURCE = 4;
const SET = 0;
const DELETE = 1;

let cluster: Cluster;
const metricsPorts: number[] = [];

t.before(async () => {
  for (let i = 0; i < 3; i++) metricsPorts.push(await freePort());
  cluster = await startCluster((id) => ({ 'auto.leader.rebalance.enable': 'false', 'metrics.listener': `http://127.0.0.1:${metricsPorts[id - 1]}` }));
});
t.teardown(() => {
  if (!t.passing()) console.error(cluster?.output());
  cluster?.cleanup();
});

async function produce(values: Buffer[]): Promise<void> {
  const res = await call<any>(cluster.broker(1).port, ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: buildRecordBatch({ records: values.map((value) => ({ key: null, value })) }) }] }],
  });
  const p = res.responses[0].partitionResponses[0];
  if (p.errorCode !== ErrorCode.NONE) throw new Error(`produce: error ${p.errorCode}`);
}

async function alter(resourceType: number, resourceName: string, configs: [string, string | null][]): Promise<void> {
  const res = await call<any>(cluster.broker(2).port, ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType, resourceName, configs: configs.map(([name, value]) => ({ name, configOperation: value === null ? DELETE : SET, value })) }],
    validateOnly: false,
  });
  if (res.responses[0].errorCode !== ErrorCode.NONE) throw new Error(`alter ${resourceName}: ${res.responses[0].errorMessage}`);
}

/** Bytes of the partition on broker 3 (0 until its log exists). */
async function copied(): Promise<number> {
  const r = await call<any>(cluster.broker(3).port, ApiKey.DescribeLogDirs, 4, { topics: [{ topic: TOPIC, partitions: [0] }] });
  return r.results[0].topics.find((x: any) => x.name === TOPIC)?.partitions[0]?.partitionSize ?? 0;
}

/** The bytes/s broker 3's copy grows at over `ms`. */
async function rateOver(ms: number): Promise<number> {
  const [b0, t0] = [await copied(), Date.now()];
  await new Promise((r) => setTimeout(r, ms));
  const [b1, t1] = [await copied(), Date.now()];
  return (b1 - b0) / ((t1 - t0) / 1000);
}

function mb(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1024 / 1024).toFixed(2)} MB/s`;
}

t.test('a new replica catches up at the throttled rate, and at full speed once the throttle is removed', async (t) => {
  const created = await call<any>(cluster.broker(1).port, ApiKey.CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }], configs: [] }],
    timeoutMs: 15_000,
    validateOnly: false,
  });
  t.equal(created.topics[0].errorCode, ErrorCode.NONE);
  await waitFor('broker 1 to lead the partition', 15_000, async () => ((await metadata(cluster.broker(1).port, [TOPIC])).topics[0]?.partitions[0]?.leaderId === 1 ? true : undefined));
  const acked: string[] = [];
  const started = Date.now();
  for (let b = 0; b < BATCHES; b++) {
    const values = Array.from({ length: PER_BATCH }, (_, i) => `bulk-${b * PER_BATCH + i}`);
    await produce(values.map((v) => Buffer.concat([Buffer.from(`${v}|`), Buffer.alloc(VALUE_BYTES - v.length - 1, 'x')])));
    acked.push(...values);
  }
  t.comment(`produced in ${Date.now() - started} ms`);
  const total = await waitFor('broker 1 to report the partition', 10_000, async () => {
    const r = await call<any>(cluster.broker(1).port, ApiKey.DescribeLogDirs, 4, { topics: [{ topic: TOPIC, partitions: [0] }] });
    return r.results[0].topics[0]?.partitions[0]?.partitionSize as number | undefined;
  });

  // What kafka-reassign-partitions --execute --throttle sets: the moving replicas' lists, the
  // rate on every broker of the move; here the leader's rate alone at first.
  await alter(TOPIC_RESOURCE, TOPIC, [['leader.replication.throttled.replicas', '0:1'], ['follower.replication.throttled.replicas', '0:3']]);
  await alter(BROKER_RESOURCE, '1', [['leader.replication.throttled.rate', String(RATE)]]);

  let writing = true;
  const load = (async () => {
    for (let i = 0; writing; i++) {
      await produce([Buffer.from(`load-${i}`)]);
      acked.push(`load-${i}`);
    }
  })();

  const moved = await call<any>(cluster.broker(2).port, ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [1, 3] }] }] });
  t.equal(moved.responses[0].partitions[0].errorCode, ErrorCode.NONE, 'the reassignment starts');
  const began = await waitFor('broker 3 to start copying', 10_000, async () => {
    const bytes = await copied();
    return bytes > 0 ? { bytes, at: Date.now() } : undefined;
  }, 50);
  // The first second may carry a burst (the rate is measured over at least one window).
  await new Promise((r) => setTimeout(r, 1000));
  const leaderThrottled = await rateOver(3000);
  t.ok(leaderThrottled > RATE * BAND[0] && leaderThrottled < RATE * BAND[1], `with the leader throttled at ${mb(RATE)}, broker 3 copies at ${mb(leaderThrottled)}`);
  const leaderMetric = value(await scrape(metricsPorts[0]!), 'kafka_server_leaderreplication_byte_rate');
  t.ok(leaderMetric > RATE * BAND[0] && leaderMetric < RATE * BAND[1], `broker 1 reports a leader replication byte rate of ${mb(leaderMetric)}`);

  await alter(BROKER_RESOURCE, '1', [['leader.replication.throttled.rate', null]]);
  await alter(BROKER_RESOURCE, '3', [['follower.replication.throttled.rate', String(RATE)]]);
  // The follower's rate covers its last 11 s, the leader-throttled phase's bytes included: it
  // keeps the copy's average since it began at the bound (holding back while that is above it).
  await new Promise((r) => setTimeout(r, 3000));
  const followerThrottled = ((await copied()) - began.bytes) / ((Date.now() - began.at) / 1000);
  t.ok(followerThrottled > RATE * BAND[0] && followerThrottled < RATE * BAND[1], `with the follower throttled at ${mb(RATE)} instead, broker 3's copy averages ${mb(followerThrottled)} since it began`);
  const followerMetric = value(await scrape(metricsPorts[2]!), 'kafka_server_followerreplication_byte_rate');
  t.ok(followerMetric > RATE * BAND[0] && followerMetric < RATE * BAND[1], `broker 3 reports a follower replication byte rate of ${mb(followerMetric)}`);

  // What --verify clears once the move is done; cleared here while it still runs.
  const left = total - (await copied());
  const cleared = Date.now();
  await alter(BROKER_RESOURCE, '3', [['follower.replication.throttled.rate', null]]);
  await alter(TOPIC_RESOURCE, TOPIC, [['leader.replication.throttled.replicas', null], ['follower.replication.throttled.replicas', null]]);
  await waitFor('broker 3 to copy what was left', 30_000, async () => ((await copied()) >= total ? true : undefined), 50);
  const took = Date.now() - cleared;
  const unthrottled = left / (took / 1000);
  t.ok(left > 5 * 1024 * 1024, `${(left / 1024 / 1024).toFixed(1)} MB were left to copy when the throttles were removed`);
  t.ok(unthrottled > RATE * BAND[1], `then broker 3 copied them in ${took} ms, at ${mb(unthrottled)}`);
  const done = await waitFor('the reassignment to finish', 30_000, async () => {
    const p = (await metadata(cluster.broker(2).port, [TOPIC])).topics[0]!.partitions[0]!;
    return p.isrNodes.length === 2 ? p : undefined;
  }, 50);
  t.same([[...done.replicaNodes].sort(), [...done.isrNodes].sort()], [[1, 3], [1, 3]], 'the partition lives on brokers 1 and 3, both in sync');
  writing = false;
  await load;

  // Broker 3 first (already in sync, so at once), then the preferred leader: it serves every acknowledged record.
  const reorder = await call<any>(cluster.broker(2).port, ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 10_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [3, 1] }] }] });
  t.equal(reorder.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  const elected = await call<any>(cluster.broker(2).port, ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 10_000 });
  t.equal(elected.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.NONE, 'broker 3 takes over');
  const wire = await WireClient.connect(cluster.broker(3).port);
  t.teardown(() => wire.close());
  const read = await waitFor('broker 3 to serve the partition', 15_000, () => readPartition(wire, TOPIC, 0).catch(() => undefined));
  const values = read.records.map((r) => r.value!.toString().split('|')[0]);
  t.equal(values.length, acked.length, `broker 3 holds ${values.length} records, as many as were acknowledged`);
  t.equal(values.findIndex((v, i) => v !== acked[i]), -1, 'every acknowledged record, in order');
});
