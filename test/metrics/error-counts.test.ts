// Which error codes a response counts, as Kafka's responses count theirs: every partition's
// and every topic's, the top-level one, NONE included; record bytes are never searched.
import t from 'tap';
import { countErrorCodes, ErrorCounts } from '../../src/main/request-metrics.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';

const counted = (apiKey: number, body: object): Record<number, number> => {
  const c = new ErrorCounts();
  countErrorCodes(apiKey, body, c);
  return Object.fromEntries(c.entries());
};

t.test('error codes of responses', async (t) => {
  t.same(counted(ApiKey.Produce, {
    responses: [{ name: 'a', partitionResponses: [{ index: 0, errorCode: 0 }, { index: 1, errorCode: 6 }] }, { name: 'b', partitionResponses: [{ index: 0, errorCode: 3 }] }],
  }), { 0: 1, 6: 1, 3: 1 }, 'Produce: one per partition');
  t.same(counted(ApiKey.Fetch, {
    errorCode: 0,
    responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 1, records: Buffer.alloc(64, 3) }, { partitionIndex: 1, records: [Buffer.alloc(8)] }] }],
  }), { 0: 2, 1: 1 }, 'Fetch: the top-level code and each partition\'s, an absent one as NONE (its encoded default)');
  t.same(counted(ApiKey.Metadata, {
    brokers: [{ nodeId: 1, host: 'h', port: 1 }],
    topics: [{ errorCode: 0, name: 't', partitions: [{ errorCode: 9, partitionIndex: 0, replicaNodes: [1, 2] }, { errorCode: 0, partitionIndex: 1, replicaNodes: [1] }] }],
  }), { 0: 2, 9: 1 }, 'other APIs: every errorCode field found in the body');
  t.same(counted(ApiKey.ApiVersions, { errorCode: 35, apiKeys: [] }), { 35: 1 }, 'a top-level code alone');
  t.same(counted(ApiKey.DescribeGroups, { groups: [{ errorCode: 300, groupId: 'g', members: [] }] }), { 300: 1 }, 'a code beyond the known ones still counts');
});
