// The __consumer_offsets record formats and the group -> partition rule, checked against
// Kafka's: Java's String.hashCode values, and key/value bytes laid out as Kafka writes them.
import t from 'tap';
import { javaStringHashCode, partitionForGroup } from '../../src/shared/groups/coordinator-partition.js';
import { readLogRecords } from '../../src/shared/groups/log-records.js';
import { buildMarkerBatch, ControlType, TRANSACTIONAL_FLAG } from '../../src/shared/control-records.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
} from '../../src/shared/groups/records.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';

t.test('Java String.hashCode and Kafka partition choice', async (t) => {
  t.equal(javaStringHashCode(''), 0);
  t.equal(javaStringHashCode('hello'), 99162322, '"hello".hashCode()');
  t.equal(javaStringHashCode('Aa'), javaStringHashCode('BB'), 'the classic collision');
  t.equal(javaStringHashCode('polygenelubricants'), -2147483648, 'a string hashing to Integer.MIN_VALUE');
  t.equal(partitionForGroup('polygenelubricants', 50), 0, 'Utils.abs(MIN_VALUE) is 0, as in Kafka');
  t.equal(partitionForGroup('hello', 50), 99162322 % 50);
  t.equal(javaStringHashCode('grüße-😀'), javaStringHashCode('grüße-\ud83d\ude00'), 'UTF-16 code units, like Java');
});

t.test('offset commit key and value', async (t) => {
  const key = encodeOffsetKey('g', 'topic', 7);
  t.same([...key], [0, 1, 0, 1, 0x67, 0, 5, ...Buffer.from('topic'), 0, 0, 0, 7], 'version 1 | group | topic | partition');
  t.same(decodeKey(key), { type: 'offset', group: 'g', topic: 'topic', partition: 7 });
  const value = { offset: 2 ** 40 + 5, leaderEpoch: 3, metadata: 'meta', commitTimestamp: 1_700_000_000_000 };
  const bytes = encodeOffsetValue(value);
  t.equal(bytes.readInt16BE(0), 3, 'value version 3');
  t.equal(bytes.length, 2 + 8 + 4 + 2 + 4 + 8);
  t.same(decodeOffsetValue(bytes), value);
  const v1 = Buffer.alloc(2 + 8 + 2 + 8 + 8);
  v1.writeInt16BE(1, 0);
  v1.writeBigInt64BE(42n, 2);
  v1.writeInt16BE(0, 10);
  v1.writeBigInt64BE(99n, 12);
  v1.writeBigInt64BE(-1n, 20);
  t.same(decodeOffsetValue(v1), { offset: 42, leaderEpoch: -1, metadata: '', commitTimestamp: 99 }, 'an older (v1) value still reads');
});

t.test('group metadata key and value', async (t) => {
  t.same(decodeKey(encodeGroupKey('my-group')), { type: 'group', group: 'my-group' });
  t.equal(encodeGroupKey('my-group').readInt16BE(0), 2, 'group keys are version 2');
  const value = {
    protocolType: 'consumer',
    generationId: 4,
    protocolName: 'range',
    leaderId: 'm1',
    stateTimestamp: 123,
    members: [
      { memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 60000, sessionTimeoutMs: 30000, subscription: Buffer.from([1, 2]), assignment: Buffer.from([3]) },
      { memberId: 'm2', groupInstanceId: null, clientId: 'c', clientHost: '', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: Buffer.alloc(0), assignment: Buffer.alloc(0) },
    ],
  };
  t.same(decodeGroupValue(encodeGroupValue(value)), value, 'round trip');
  t.throws(() => decodeKey(Buffer.from([0, 9, 0, 0])), /unknown/, 'an unknown key version is refused');
});

t.test('records read back out of batches', async (t) => {
  const a = buildRecordBatch({ baseOffset: 10, records: [{ key: Buffer.from('k1'), value: Buffer.from('v1') }, { key: Buffer.from('k2'), value: null }] });
  const b = buildRecordBatch({ baseOffset: 12, records: [{ key: Buffer.from('k3'), value: Buffer.from('v3') }] });
  const both = Buffer.concat([a, b]);
  const read = readLogRecords(both, 10);
  t.same(read.records.map((r) => [r.offset, r.key?.toString(), r.value?.toString() ?? null]), [[10, 'k1', 'v1'], [11, 'k2', null], [12, 'k3', 'v3']]);
  t.equal(read.nextOffset, 13);
  const cut = readLogRecords(both.subarray(0, both.length - 3), 10);
  t.equal(cut.nextOffset, 12, 'a batch cut short is left for the next read');
});

t.test('records written in a transaction, and markers, are told apart', async (t) => {
  const txn = buildRecordBatch({ baseOffset: 5, records: [{ key: Buffer.from('k'), value: Buffer.from('v') }], producerId: 42, producerEpoch: 3, baseSequence: -1 });
  txn.writeInt16BE(TRANSACTIONAL_FLAG, 21);
  resealBatch(txn, 0);
  const marker = buildMarkerBatch(42, 3, true, 0);
  marker.writeBigInt64BE(6n, 0);
  const read = readLogRecords(Buffer.concat([txn, marker]), 5);
  t.same(read.records.map((r) => [r.offset, r.key?.toString() ?? null, r.transactionalProducerId, r.control]), [[5, 'k', 42, undefined], [6, null, 42, ControlType.COMMIT]]);
  t.equal(read.nextOffset, 7);
});
