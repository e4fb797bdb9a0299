// A kafkajs producer and consumer against a broker started inside the vitest worker.
// Run: npm run build && npx vitest run --config examples/vitest/vitest.config.mjs
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from 'kafka-ts-broker';

let broker;
beforeAll(async () => {
  broker = await startBroker({ config: { 'num.partitions': 3, 'group.initial.rebalance.delay.ms': 0 } });
});
afterAll(() => broker?.stop());

test('what is produced is consumed', async () => {
  const kafka = new Kafka({ clientId: 'vitest-example', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'greetings', messages: [{ key: 'a', value: 'hello' }, { key: 'b', value: 'world' }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: 'vitest-example-group' });
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
  expect(seen.sort()).toEqual(['hello', 'world']);
});
