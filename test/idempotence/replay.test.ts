// Idempotent producers of three clients (kafkajs `idempotent: true`, confluent_kafka
// `enable.idempotence`, the Java client with its defaults) write through a proxy that sends
// every Produce request to the broker twice (replay-proxy.ts). Each replay must be answered
// with its original's offsets, and reading the partitions back must find every record
// exactly once. The broker advertises the proxy, so clients never bypass it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { freePort, hasCommand, startBroker, type BrokerProcess } from '../helpers/broker.js';
import { brokerTeardown, commandWorks, run } from '../clients/harness.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { startReplayProxy, type ReplayProxy } from './replay-proxy.js';

interface Checks {
  ok(value: unknown, message?: string): void;
  equal(found: unknown, wanted: unknown, message?: string): void;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const PARTITIONS = 3;

async function createTopic(broker: BrokerProcess, name: string): Promise<void> {
  const client = await WireClient.connect(broker.port);
  try {
    const res = await client.request(ApiKey.CreateTopics, 5, {
      topics: [{ name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    if (res.topics[0].errorCode !== 0) throw new Error(`create ${name}: error ${res.topics[0].errorCode}`);
  } finally {
    client.close();
  }
}

/** Every value in the topic, read straight from the broker (not through the proxy). */
async function readValues(broker: BrokerProcess, topic: string): Promise<string[]> {
  const client = await WireClient.connect(broker.port);
  try {
    const values: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of (await readPartition(client, topic, p)).records) values.push(r.value!.toString());
    }
    return values;
  } finally {
    client.close();
  }
}

/** Every replay answered like its original: no error, same base offset, per partition. */
function checkReplays(t: Checks, proxy: ReplayProxy, from: number, what: string): void {
  const pairs = proxy.pairs.slice(from);
  t.ok(pairs.length > 0, `${what}: ${pairs.length} produce requests were replayed`);
  const mismatched = pairs.filter(({ original, duplicate }) =>
    [...original].some(([k, [err, offset]]) => err !== 0 || duplicate.get(k)?.[0] !== 0 || duplicate.get(k)?.[1] !== offset));
  t.equal(mismatched.length, 0, `${what}: every replay got its original's offsets back`);
}

function checkOnce(t: Checks, values: string[], expected: string[], what: string): void {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  t.equal(values.length, expected.length, `${what}: ${expected.length} records stored, no copies`);
  t.ok(expected.every((v) => counts.get(v) === 1), `${what}: each record exactly once`);
}

t.test('replayed produce requests leave one copy of each record', async (t) => {
  const proxyPort = await freePort();
  const broker = await startBroker({ overrides: { 'advertised.listeners': `PLAINTEXT://127.0.0.1:${proxyPort}` } });
  brokerTeardown(t, broker);
  const proxy = await startReplayProxy(broker.port, proxyPort);
  t.teardown(() => proxy.close());
  const bootstrap = `127.0.0.1:${proxy.port}`;

  await t.test('kafkajs idempotent producer', async (t) => {
    const topic = 'idem-kafkajs';
    await createTopic(broker, topic);
    const kafka = new Kafka({ clientId: 'idem-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    t.teardown(() => producer.disconnect());
    const expected: string[] = [];
    const from = proxy.pairs.length;
    for (const mode of ['immediate', 'afterResponse'] as const) {
      proxy.mode = mode;
      for (let send = 0; send < 10; send++) {
        const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 5}`, value: `kafkajs-${mode}-${send}-${i}` }));
        expected.push(...messages.map((m) => m.value));
        await producer.send({ topic, acks: -1, messages });
      }
    }
    checkReplays(t, proxy, from, 'kafkajs');
    checkOnce(t, await readValues(broker, topic), expected, 'kafkajs');
  });

  await t.test('confluent_kafka enable.idempotence', { skip: !commandWorks(PYTHON, ['-c', 'import confluent_kafka']) && `confluent_kafka not importable by ${PYTHON}` }, async (t) => {
    const topic = 'idem-confluent';
    await createTopic(broker, topic);
    const count = 2000;
    const from = proxy.pairs.length;
    for (const mode of ['immediate', 'afterResponse'] as const) {
      proxy.mode = mode;
      const r = await run(PYTHON, [path.join(here, 'idempotent_producer.py'), bootstrap, topic, String(count), mode], { timeoutMs: 60_000 });
      t.equal(r.code, 0, `${mode}: all delivered: ${r.stdout.toString().trim()} ${r.stderr.slice(-500)}`);
    }
    checkReplays(t, proxy, from, 'confluent_kafka');
    const expected = ['immediate', 'afterResponse'].flatMap((m) => Array.from({ length: count }, (_, i) => `${m}-${i}`));
    checkOnce(t, await readValues(broker, topic), expected, 'confluent_kafka');
  });

  const javaDir = path.join(here, 'java');
  const haveJava = hasCommand('mvn') && hasCommand('javac') && hasCommand('java');
  await t.test('Java client defaults (enable.idempotence=true, acks=all)', { skip: !haveJava && 'mvn, javac or java not installed' }, async (t) => {
    if (!fs.existsSync(path.join(javaDir, 'lib'))) {
      execFileSync('mvn', ['-q', '-B', '-f', path.join(javaDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(javaDir, 'lib')}`, '-DincludeScope=runtime'], { stdio: 'ignore', timeout: 240_000 });
    }
    const classpath = `${path.join(javaDir, 'classes')}:${path.join(javaDir, 'lib')}/*`;
    execFileSync('javac', ['-cp', `${path.join(javaDir, 'lib')}/*`, '-d', path.join(javaDir, 'classes'), path.join(javaDir, 'IdempotentProducer.java')], { timeout: 120_000 });
    const topic = 'idem-java';
    await createTopic(broker, topic);
    const count = 2000;
    const from = proxy.pairs.length;
    for (const mode of ['immediate', 'afterResponse'] as const) {
      proxy.mode = mode;
      const r = await run('java', ['-cp', classpath, 'IdempotentProducer', bootstrap, topic, String(count), mode], { timeoutMs: 90_000 });
      t.equal(r.code, 0, `${mode}: ${r.stdout.toString().trim()} ${r.stderr.slice(-800)}`);
    }
    checkReplays(t, proxy, from, 'Java');
    const expected = ['immediate', 'afterResponse'].flatMap((m) => Array.from({ length: count }, (_, i) => `${m}-${i}`));
    checkOnce(t, await readValues(broker, topic), expected, 'Java');
  });
});
