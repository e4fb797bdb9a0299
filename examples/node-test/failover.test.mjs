// Failover against a local cluster of three broker processes: a record acknowledged by all
// in-sync replicas survives its leader being killed (SIGKILL), and the killed broker rejoins.
// Run: npm run build && node --test examples/node-test/
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startCluster } from 'kafka-ts-broker';

let cluster;
before(async () => {
  // Short sessions so a killed broker is noticed within seconds.
  cluster = await startCluster({ brokers: 3, config: { 'broker.session.timeout.ms': 3000, 'broker.heartbeat.interval.ms': 500, 'group.initial.rebalance.delay.ms': 0 } });
});
after(() => cluster.stop());

test('an acknowledged record survives the loss of its leader', async () => {
  const kafka = new Kafka({ clientId: 'failover', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 20 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'before' }] });

  const [{ partitions }] = (await admin.fetchTopicMetadata({ topics: ['orders'] })).topics;
  const leader = partitions[0].leader;
  await cluster.kill(leader);
  await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'after' }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'failover-check' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  const seen = [];
  await new Promise((resolve) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        if (seen.length === 2) resolve();
      },
    });
  });
  await consumer.disconnect();
  assert.deepEqual(seen, ['before', 'after']);

  await cluster.restart(leader);
  await admin.disconnect();
});
