// The producer-state rules on their own: duplicates, sequence gaps, epochs, unknown
// producers, whole-append checks, retention and expiry, and the snapshot encoding.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/workers/partition/log/producer-snapshot.js';
import {
  BATCHES_PER_PRODUCER,
  lastSequence,
  ProducerStateManager,
  type AppendCheck,
  type ProducerBatch,
} from '../../src/workers/partition/log/producer-state.js';

function b(producerId: number, producerEpoch: number, baseSequence: number, records = 1, attributes = 0): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, maxTimestamp: 1_000, attributes };
}

/** Checks and, when accepted, commits: what the log does for one client append at `offset`. */
function append(s: ProducerStateManager, batches: ProducerBatch[], offset: number): AppendCheck {
  const r = s.checkAppend(batches, offset);
  if (r.kind === 'append') s.commit(r.updates);
  return r;
}

function errorOf(r: AppendCheck): number {
  return r.kind === 'error' ? r.errorCode : ErrorCode.NONE;
}

t.test('a retried batch gets its original offsets back, for each of the last five', async (t) => {
  const s = new ProducerStateManager();
  let offset = 0;
  for (let i = 0; i < 7; i++) {
    t.equal(append(s, [b(7, 0, i * 3, 3)], offset).kind, 'append');
    offset += 3;
  }
  for (let i = 2; i < 7; i++) {
    t.same(s.checkAppend([b(7, 0, i * 3, 3)], offset), { kind: 'duplicate', firstOffset: i * 3, lastOffset: i * 3 + 2 }, `batch ${i}`);
  }
  t.equal(s.get(7)!.batches.length, BATCHES_PER_PRODUCER, 'only five batches are remembered');
  t.equal(errorOf(s.checkAppend([b(7, 0, 3, 3)], offset)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'an older batch than the last five is out of order');
  t.equal(errorOf(s.checkAppend([b(7, 0, 18, 2)], offset)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'same first sequence, other length: not a duplicate');
  t.equal(s.checkAppend([b(7, 0, 21, 1)], offset).kind, 'append', 'the next sequence goes in');
});

t.test('sequence gaps, old epochs and new epochs', async (t) => {
  const s = new ProducerStateManager();
  append(s, [b(1, 3, 0, 5)], 0);
  t.equal(errorOf(s.checkAppend([b(1, 3, 6)], 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap');
  t.equal(errorOf(s.checkAppend([b(1, 3, 4)], 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'an overlap');
  t.equal(errorOf(s.checkAppend([b(1, 2, 5)], 5)), ErrorCode.INVALID_PRODUCER_EPOCH, 'an older epoch');
  t.equal(errorOf(s.checkAppend([b(1, 2, 0, 5)], 5)), ErrorCode.INVALID_PRODUCER_EPOCH, 'an older epoch, even with a known sequence range');
  t.equal(errorOf(s.checkAppend([b(1, 4, 5)], 5)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a new epoch must start at 0');
  t.equal(append(s, [b(1, 4, 0)], 5).kind, 'append', 'a new epoch at 0');
  t.equal(s.get(1)!.epoch, 4);
  t.equal(s.get(1)!.batches.length, 1, 'the old epoch\'s batches are forgotten');
  t.equal(errorOf(s.checkAppend([b(1, 3, 5)], 6)), ErrorCode.INVALID_PRODUCER_EPOCH, 'the previous epoch is now fenced');
});

t.test('unknown producers are accepted at any sequence (current Kafka)', async (t) => {
  const s = new ProducerStateManager();
  t.equal(append(s, [b(9, 0, 42, 2)], 10).kind, 'append');
  t.same(s.get(9)!.batches, [{ firstSeq: 42, lastSeq: 43, firstOffset: 10, lastOffset: 11, timestamp: 1_000 }]);
  t.equal(errorOf(s.checkAppend([b(9, 0, 45)], 12)), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'then it is held to its sequence');
});

t.test('sequences wrap after 2^31 - 1', async (t) => {
  t.equal(lastSequence(0x7fff_fffe, 3), 1);
  const s = new ProducerStateManager();
  append(s, [b(2, 0, 0x7fff_fffd, 3)], 0);
  t.equal(s.get(2)!.batches[0]!.lastSeq, 0x7fff_ffff);
  t.equal(append(s, [b(2, 0, 0, 1)], 3).kind, 'append', 'the sequence after 2^31 - 1 is 0');
});

t.test('an append is checked whole before anything changes', async (t) => {
  const s = new ProducerStateManager();
  append(s, [b(1, 0, 0, 2)], 0);
  const bad = s.checkAppend([b(1, 0, 2, 2), b(1, 0, 5)], 2);
  t.equal(errorOf(bad), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'the second batch has a gap after the first');
  t.equal(s.get(1)!.batches.length, 1, 'so the first is not recorded either');
  const good = append(s, [b(1, 0, 2, 2), b(1, 0, 4, 3), b(5, 1, 0)], 2);
  t.equal(good.kind, 'append', 'consecutive batches of one producer in one append');
  t.same(s.get(1)!.batches.map((m) => [m.firstOffset, m.lastOffset]), [[0, 1], [2, 3], [4, 6]], 'each batch at its own offsets');
  t.same(s.get(5)!.batches[0]!.firstOffset, 7);
  t.same(s.checkAppend([b(1, 0, 2, 2), b(1, 0, 4, 3)], 8), { kind: 'duplicate', firstOffset: 2, lastOffset: 6 }, 'a retry of the whole append');
  t.equal(errorOf(s.checkAppend([b(1, 0, 4, 3), b(1, 0, 7)], 8)), ErrorCode.INVALID_RECORD, 'a retry mixed with a new batch is refused');
  t.equal(errorOf(s.checkAppend([b(1, 0, 4, 3), b(-1, -1, -1)], 8)), ErrorCode.INVALID_RECORD, 'so is one mixed with a plain batch');
});

t.test('plain, transactional, control and malformed batches', async (t) => {
  const s = new ProducerStateManager();
  t.equal(append(s, [b(-1, -1, -1, 4), b(-1, -1, -1, 4)], 0).kind, 'append', 'batches without a producer id are not tracked');
  t.equal(s.size, 0);
  t.equal(s.checkAppend([b(3, 0, 0, 1, 0x10)], 8).kind, 'append', 'transactional');
  t.equal(errorOf(s.checkAppend([b(3, 0, 0, 1, 0x20)], 8)), ErrorCode.INVALID_RECORD, 'control');
  t.equal(errorOf(s.checkAppend([b(3, 0, -1)], 8)), ErrorCode.INVALID_RECORD, 'a producer id without a sequence');
  t.equal(errorOf(s.checkAppend([b(3, -1, 0)], 8)), ErrorCode.INVALID_RECORD, 'a producer id without an epoch');
});

t.test('replay takes batches as they are; truncateHead and expiry forget producers', async (t) => {
  const s = new ProducerStateManager(60_000);
  s.replay(b(1, 0, 0, 2), 0);
  s.replay(b(1, 0, 5, 2), 2);
  s.replay({ ...b(2, 0, 0, 2), maxTimestamp: 50_000 }, 4);
  s.replay(b(2, 1, 0, 2), 6);
  t.same(s.get(1)!.batches.map((m) => m.firstSeq), [0, 5], 'a gap is taken as it is');
  t.equal(s.get(2)!.epoch, 1, 'an epoch change resets the batches');
  s.truncateHead(3);
  t.same(s.get(1)!.batches.map((m) => m.firstOffset), [2], 'batches below the log start go');
  s.truncateHead(6);
  t.equal(s.get(1), undefined, 'a producer with nothing left in the log is forgotten');
  t.ok(s.get(2));
  t.equal(s.removeExpired(1_000 + 59_999), 0, 'not yet expired');
  t.equal(s.removeExpired(1_000 + 60_000), 1, 'silent for producer.id.expiration.ms');
  t.equal(s.size, 0);
});

t.test('snapshot encoding round-trips and rejects damage', async (t) => {
  const s = new ProducerStateManager();
  for (let i = 0; i < 7; i++) append(s, [b(2 ** 40 + 3, 5, i * 2, 2)], i * 2);
  append(s, [b(11, 0, 0, 1)], 14);
  const bytes = encodeSnapshot(s.entries());
  t.same(decodeSnapshot(bytes), { entries: s.entries(), legacyAborted: [] }, 'same entries back');
  const restored = new ProducerStateManager();
  restored.restore(decodeSnapshot(bytes)!.entries);
  t.same(restored.checkAppend([b(2 ** 40 + 3, 5, 8, 2)], 15), { kind: 'duplicate', firstOffset: 8, lastOffset: 9 }, 'duplicates found after a restore');
  t.same(decodeSnapshot(encodeSnapshot([])), { entries: [], legacyAborted: [] }, 'an empty state');
  for (const at of [0, 3, 7, 20, bytes.length - 1]) {
    const bad = Buffer.from(bytes);
    bad[at] = bad[at]! ^ 0x40;
    t.equal(decodeSnapshot(bad), undefined, `a flipped byte at ${at}`);
  }
  t.equal(decodeSnapshot(bytes.subarray(0, bytes.length - 4)), undefined, 'a cut file');
});

t.test('the active producers as DescribeProducers lists them', async (t) => {
  const s = new ProducerStateManager();
  t.equal(append(s, [b(7, 2, 0, 3), b(7, 2, 3, 2)], 0).kind, 'append');
  t.equal(append(s, [b(9, 0, 0, 1, 0x10)], 5).kind, 'append');
  t.same(s.active(), [
    { producerId: 7, producerEpoch: 2, lastSequence: 4, lastTimestamp: 1_000, coordinatorEpoch: -1, currentTxnStartOffset: -1 },
    { producerId: 9, producerEpoch: 0, lastSequence: 0, lastTimestamp: 1_000, coordinatorEpoch: -1, currentTxnStartOffset: 5 },
  ], 'the last sequence of each, and where an open transaction starts');
});
