// A kafkajs producer and consumer against a broker started inside this test process.
// Run: npm run build && node --test examples/node-test/
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from 'kafka-ts-broker';

let broker;
before(async () => {
  broker = await startBroker({ config: { 'num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
});
after(() => broker.stop());

test('what is produced is consumed', async () => {
  const kafka = new Kafka({ clientId: 'example', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'greetings', messages: [{ key: 'a', value: 'hello' }, { key: 'b', value: 'world' }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'example-group' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'greetings', fromBeginning: true });
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
  assert.deepEqual(seen.sort(), ['hello', 'world']);
});
