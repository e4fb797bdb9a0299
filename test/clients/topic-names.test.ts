// Topic names a client may not create, against a real broker process: the metadata quorum's
// own log name (kafkajs admin, kcat's auto-create, raw CreateTopics) must never reach a
// partition worker, and the cluster keeps its topics and id across a restart; a name given
// twice in one CreateTopics is refused in both entries and created in neither (raw frames).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Kafka, logLevel } from 'kafkajs';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { startBroker } from '../helpers/broker.js';
import { brokerTeardown } from './harness.js';
import { WireClient } from './wire-client.js';

/** Bytes in the metadata quorum's log directory. */
function metadataBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
}

const hasKcat = spawnSync('kcat', ['-V']).status === 0;

async function describe(client: WireClient, names: string[]): Promise<{ clusterId: string; topics: Map<string, number> }> {
  const md = await client.request(ApiKey.Metadata, 12, { topics: names.map((name) => ({ name })), allowAutoTopicCreation: false });
  return { clusterId: md.clusterId, topics: new Map(md.topics.map((x: any) => [x.name, x.errorCode])) };
}

t.test('the metadata log name cannot be taken by a topic', async (t) => {
  const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
  brokerTeardown(t, broker);
  const metadataLog = path.join(broker.dataDir, '__cluster_metadata-0');
  const kafka = new Kafka({ clientId: 'reserved-names', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1 } });
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  t.equal(await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 2 }], waitForLeaders: true }), true, 'an ordinary topic is created');

  let client = await WireClient.connect(broker.port);
  const before = await describe(client, ['kept']);
  const sizeBefore = metadataBytes(metadataLog);

  const refused = await admin.createTopics({ topics: [{ topic: '__cluster_metadata', numPartitions: 1 }] }).then(
    () => null,
    (e: any) => e,
  );
  t.ok(refused, 'kafkajs createTopics of __cluster_metadata fails');
  t.match(String(refused?.errors?.[0]?.type ?? refused?.type ?? refused), /INVALID_REQUEST/, 'with INVALID_REQUEST');

  const raw = await client.request(ApiKey.CreateTopics, 5, {
    topics: [{ name: '__cluster_metadata', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  t.equal(raw.topics[0].errorCode, ErrorCode.INVALID_REQUEST, 'raw CreateTopics is answered INVALID_REQUEST');
  t.match(raw.topics[0].errorMessage, /__cluster_metadata is prohibited/, 'with Kafka\'s message');

  if (hasKcat) {
    const produced = spawnSync('kcat', ['-b', broker.bootstrap, '-P', '-t', '__cluster_metadata', '-m', '10'], { input: 'x\n', encoding: 'utf8', timeout: 30_000 });
    t.not(produced.status, 0, 'kcat cannot produce to __cluster_metadata (auto-create refused)');
  } else {
    t.pass('kcat is not installed: auto-create through a produce is not tried');
  }

  const md = await client.request(ApiKey.Metadata, 12, { topics: [{ name: '__cluster_metadata' }], allowAutoTopicCreation: true });
  t.equal(md.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, 'Metadata with auto-create answers INVALID_TOPIC_EXCEPTION');
  const sizeAfter = metadataBytes(metadataLog);
  t.ok(sizeAfter >= sizeBefore, `the metadata log was not cut (${sizeBefore} -> ${sizeAfter} bytes)`);
  t.notMatch(broker.output(), /invalid log tail/, 'no partition worker recovered the metadata log');

  client.close();
  await broker.stop();
  await broker.restart();
  client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const after = await describe(client, ['kept', '__cluster_metadata']);
  t.equal(after.clusterId, before.clusterId, 'the cluster id survives the restart');
  t.equal(after.topics.get('kept'), ErrorCode.NONE, 'the ordinary topic survives the restart');
  t.equal(after.topics.get('__cluster_metadata'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'no topic __cluster_metadata exists');
});

t.test('a topic named twice in one CreateTopics is created in neither entry', async (t) => {
  const broker = await startBroker({ overrides: { 'num.partitions': 1 } });
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  const topic = (name: string) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] });
  const res = await client.request(ApiKey.CreateTopics, 5, { topics: [topic('twice'), topic('once'), topic('twice')], timeoutMs: 5000 });
  t.same(
    res.topics.map((x: any) => [x.name, x.errorCode]),
    [['twice', ErrorCode.INVALID_REQUEST], ['once', ErrorCode.NONE], ['twice', ErrorCode.INVALID_REQUEST]],
    'both entries of the repeated name are refused, the other is created',
  );
  const { topics } = await describe(client, ['twice', 'once']);
  t.equal(topics.get('twice'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'the repeated name was not created');
  t.equal(topics.get('once'), ErrorCode.NONE, 'the other topic exists');
});
