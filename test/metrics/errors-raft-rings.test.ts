// A broker process's /metrics as an operator reads it: error codes counted per request type
// (a produce to a topic or partition that does not exist shows up under its code), the
// metadata quorum's commit latency filled by a topic creation and its leader counted at
// start, and the rings to the partition worker with their occupancy and wake-ups.
import t from 'tap';
import { createTopics, produceOne } from '../cluster/fixtures/cluster.js';
import { brokerTeardown } from '../clients/harness.js';
import { freePort, startBroker } from '../helpers/broker.js';
import { scrape, value } from './metrics-helpers.js';

const ERRORS = 'kafka_network_requestmetrics_errors_total';
const COMMITS = 'kafka_ts_raft_commit_latency_seconds_count';

t.test('errors by code, raft and ring metrics', async (t) => {
  const metricsPort = await freePort();
  const broker = await startBroker({
    overrides: { 'metrics.listener': `http://127.0.0.1:${metricsPort}`, 'auto.create.topics.enable': false, 'num.partition.workers': 1 },
  });
  brokerTeardown(t, broker);

  const started = await scrape(metricsPort);
  t.equal(value(started, 'kafka_controller_kafkacontroller_newactivecontrollerscount'), 1, 'one quorum leader seen since start');
  t.equal(value(started, 'kafka_server_raft_metrics_current_leader'), 1, 'this node leads the quorum');
  t.ok(value(started, 'kafka_server_raft_metrics_high_watermark') > 0, 'the registration is committed');

  const [created] = await createTopics(broker.port, ['known'], { partitions: 2 });
  t.equal(created?.errorCode, 0, 'topic created');
  const afterCreate = await scrape(metricsPort);
  t.ok(value(afterCreate, COMMITS) > value(started, COMMITS), `the topic's records were timed from append to commit (${value(started, COMMITS)} -> ${value(afterCreate, COMMITS)} commits)`);
  t.ok(value(afterCreate, 'kafka_server_raft_metrics_commit_latency_avg') > 0, 'Kafka\'s commit-latency-avg has a value');

  t.equal((await produceOne(broker.port, 'known', 0, 'a')).errorCode, 0, 'a produce to an existing partition succeeds');
  t.equal((await produceOne(broker.port, 'unknown', 0, 'b')).errorCode, 3, 'a produce to an unknown topic is refused');
  t.equal((await produceOne(broker.port, 'known', 7, 'c')).errorCode, 3, 'so is one to a partition the topic does not have');
  const text = await scrape(metricsPort);
  t.equal(value(text, ERRORS, 'request="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"'), 2, 'both refusals counted under their code');
  t.equal(value(text, ERRORS, 'request="Produce",error="NONE"'), 1, 'the success counted as NONE, as Kafka counts it');
  t.equal(value(text, ERRORS, 'request="CreateTopics",error="NONE"'), 1, 'other request types count their own codes');

  const ring = 'thread="partition-worker-0",ring="requests"';
  t.equal(value(text, 'kafka_ts_ring_capacity_bytes', ring), 16 * 1024 * 1024, 'the request ring to the worker has its size');
  t.match(text, /^kafka_ts_ring_used_bytes\{thread="partition-worker-0",ring="responses"\} \d+$/m, 'occupancy of the response ring is served');
  t.ok(value(text, 'kafka_ts_ring_peak_used_bytes', ring) > 0, 'the produce passed through the request ring');
  t.ok(value(text, 'kafka_ts_ring_wakeups_total', ring) > 0, 'and woke the worker');
  t.ok(value(text, 'kafka_ts_ring_consumer_sleeps_total', ring) > 0, 'which sleeps when idle');
});
