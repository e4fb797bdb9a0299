// The metrics endpoint of a real broker process: Prometheus text with the request metrics
// under Kafka's names, each produce attributed to its stages, and a taken port costing only
// the endpoint, not the broker.
import net from 'node:net';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, startBroker } from '../helpers/broker.js';
import { brokerTeardown } from '../clients/harness.js';

function sample(text: string, name: string, request: string): number {
  const m = new RegExp(`^${name}\\{request="${request}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

t.test('request metrics at /metrics', async (t) => {
  const port = await freePort();
  const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${port}`, 'num.partitions': 2, 'num.partition.workers': 2 } });
  brokerTeardown(t, broker);
  const kafka = new Kafka({ clientId: 'metrics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  t.teardown(() => producer.disconnect());
  for (let i = 0; i < 20; i++) await producer.send({ topic: 'metered', acks: -1, messages: [{ value: `v${i}` }] });

  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  t.equal(res.status, 200, '/metrics answers');
  t.match(res.headers.get('content-type') ?? '', /text\/plain/, 'in Prometheus text format');
  const text = await res.text();
  t.ok(sample(text, 'kafka_network_requestmetrics_requests_total', 'Produce') >= 20, 'every produce is counted');
  t.ok(sample(text, 'kafka_network_requestmetrics_totaltimems_count', 'Produce') >= 20, 'and timed');
  const total = sample(text, 'kafka_network_requestmetrics_totaltimems_sum', 'Produce');
  const sync = sample(text, 'kafka_network_requestmetrics_fsynctimems_sum', 'Produce');
  t.ok(sync > 0, `acks=all produce spent time in fdatasync (${sync.toFixed(2)} ms in all)`);
  t.ok(total >= sync, `the total (${total.toFixed(2)} ms) holds the fsync time`);
  t.match(text, /kafka_network_requestmetrics_totaltimems_bucket\{request="Produce",le="\+Inf"\}/, 'as a histogram with buckets');
  t.match(text, /^process_resident_memory_bytes \d+/m, 'beside the process metrics');
  for (const thread of ['main', 'raft', 'partition-worker-0']) {
    t.match(text, new RegExp(`^kafka_ts_thread_gc_pause_seconds_count\\{thread="${thread}"\\} \\d+`, 'm'), `GC pauses of the ${thread} thread`);
    t.match(text, new RegExp(`^kafka_ts_thread_eventloop_delay_seconds\\{thread="${thread}",quantile="0.99"\\} `, 'm'), `event-loop delay of the ${thread} thread`);
  }
  const json = (await (await fetch(`http://127.0.0.1:${port}/metrics/requests`)).json()) as Record<string, Record<string, number[]>>;
  t.ok(Array.isArray(json.Produce?.sync), 'full-resolution histograms are served as JSON');
});

t.test('a taken metrics port leaves the broker serving', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const taken = (blocker.address() as net.AddressInfo).port;
  const broker = await startBroker({ overrides: { 'metrics.listener': `http://127.0.0.1:${taken}` } });
  brokerTeardown(t, broker);
  const admin = new Kafka({ clientId: 'metrics', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.ok(Array.isArray(await admin.listTopics()), 'clients are served');
  t.match(broker.output(), /metrics\.listener/, 'the warning names the setting');
});
