// A compacted topic keeps the latest record per key, so a record without a key could never be
// replaced nor deleted: as Kafka's leader does, the broker refuses a produce holding one with
// INVALID_RECORD, uncompressed or inside a gzip batch, and leaves the log as it was; the
// refusal's message names the partition, as Kafka's does. Keyed records go in; a topic that is
// not compacted takes keyless records; a topic altered to `compact` refuses them from then on.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { buildRecordBatch, validateBatches, type RecordInput } from '../../src/shared/record-batch.js';
import { startBroker } from '../helpers/broker.js';
import { compressedBatch } from '../helpers/compressed-batch.js';
import { brokerTeardown, eventually } from '../clients/harness.js';
import { readPartition, WireClient } from '../clients/wire-client.js';
import { createTopic } from './helpers.js';

const keyed = (k: string, v: string): RecordInput => ({ key: Buffer.from(k), value: Buffer.from(v) });
const keyless = (v: string): RecordInput => ({ key: null, value: Buffer.from(v) });

t.test('the refusal names the partition, as Kafka words it; followers are not checked', async (t) => {
  const batch = compressedBatch('gzip', { records: [keyed('a', '1'), keyless('x')] });
  t.same(validateBatches(batch, 1 << 20, 'compacted-3'), {
    errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'Compacted topic cannot accept message without key in topic partition compacted-3.', batches: [],
  });
  t.equal(validateBatches(batch, 1 << 20).errorCode, ErrorCode.NONE, 'without a partition that requires keys, the batch is valid');
  t.equal(validateBatches(buildRecordBatch({ records: [keyless('x')] })).errorCode, ErrorCode.NONE, 'nor are batches checked without it (a follower, recovery)');
});

t.test('records without a key are refused by compacted topics only', async (t) => {
  const broker = await startBroker();
  brokerTeardown(t, broker);
  const client = await WireClient.connect(broker.port);
  t.teardown(() => client.close());
  await createTopic(client, 'compacted', { 'cleanup.policy': 'compact' });
  await createTopic(client, 'compact-delete', { 'cleanup.policy': 'compact,delete' });
  await createTopic(client, 'plain', {});

  let lastMessage: string | null = null;
  const produce = async (topic: string, records: RecordInput[], gzip = false): Promise<number> => {
    const batch = gzip ? compressedBatch('gzip', { records }) : buildRecordBatch({ records });
    const r = await client.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
    lastMessage = r.responses[0].partitionResponses[0].errorMessage;
    return r.responses[0].partitionResponses[0].errorCode;
  };
  const values = async (topic: string): Promise<string[]> => (await readPartition(client, topic, 0)).records.map((r) => `${r.key ?? '-'}=${r.value}`);

  t.equal(await produce('compacted', [keyed('a', '1'), keyless('x')]), ErrorCode.INVALID_RECORD, 'a keyless record among keyed ones is refused');
  t.equal(await produce('compacted', [keyed('a', '1'), keyless('x')], true), ErrorCode.INVALID_RECORD, 'and so it is inside a gzip batch');
  t.equal(lastMessage, 'Compacted topic cannot accept message without key in topic partition compacted-0.', 'the produce response says why');
  t.equal(await produce('compact-delete', [keyless('x')]), ErrorCode.INVALID_RECORD, 'compact,delete refuses it too');
  t.equal(await produce('compacted', [keyed('a', '1'), keyed('b', '1')]), ErrorCode.NONE, 'keyed records are taken');
  t.equal(lastMessage, null, 'with no error message');
  t.equal(await produce('compacted', [keyed('a', '2')], true), ErrorCode.NONE, 'also gzip-compressed');
  t.same(await values('compacted'), ['a=1', 'b=1', 'a=2'], 'the log holds exactly the keyed records');

  t.equal(await produce('plain', [keyless('x'), keyed('k', 'y')]), ErrorCode.NONE, 'a topic that is not compacted takes keyless records');
  t.equal(await produce('plain', [keyless('z')], true), ErrorCode.NONE, 'compressed too');
  t.same(await values('plain'), ['-=x', 'k=y', '-=z'], 'and keeps them');

  const altered = await client.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 2, resourceName: 'plain', configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'compact' }] }],
    validateOnly: false,
  });
  t.equal(altered.responses[0].errorCode, ErrorCode.NONE, 'the topic is made compacted');
  let probe = 0;
  await eventually('the altered topic to refuse keyless records', async () => (await produce('plain', [keyless(`probe-${probe++}`)])) === ErrorCode.INVALID_RECORD);
  t.equal(await produce('plain', [keyed('k', 'z'), keyless('after')], true), ErrorCode.INVALID_RECORD, 'once compacted, it refuses keyless records');
  t.notOk((await values('plain')).includes('-=after'), 'and does not keep them');
});
