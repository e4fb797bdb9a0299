// The transactional checks on hand-made histories, and the read_committed filter on real
// batches: a clean history passes, each anomaly is found, and a reader drops an aborted
// transaction's batches and every marker, as Kafka's consumer does.
import t from 'tap';
import { buildMarkerBatch } from '../../src/shared/control-records.js';
import { buildRecordBatch, resealBatch } from '../../src/shared/record-batch.js';
import type { WriteOp } from '../../src/checker/history.js';
import { committedRecords } from '../../src/checker/read-committed.js';
import { parseBatches } from '../../src/checker/record-set.js';
import { checkTransactions, type TxnHistory, type TxnRecord } from '../../src/checker/txn-history.js';

function txnBatch(baseOffset: number, producerId: number, values: string[]): Buffer {
  const b = buildRecordBatch({ baseOffset, records: values.map((v) => ({ key: null, value: Buffer.from(v) })), producerId, producerEpoch: 0, baseSequence: 0 });
  b.writeInt16BE(0x10, 21);
  resealBatch(b, 0);
  return b;
}

function marker(offset: number, producerId: number, commit: boolean): Buffer {
  const b = buildMarkerBatch(producerId, 0, commit, 0);
  b.writeBigInt64BE(BigInt(offset), 0);
  resealBatch(b, 0);
  return b;
}

t.test('a read_committed reader keeps committed and plain records, drops aborted ones and markers', async (t) => {
  // Producers 7 (aborted) and 8 (committed) interleave; 7 aborts again after its first abort.
  const log = Buffer.concat([
    txnBatch(0, 7, ['a0', 'a1']),
    txnBatch(2, 8, ['c0']),
    buildRecordBatch({ baseOffset: 3, records: [{ key: null, value: Buffer.from('plain') }] }),
    marker(4, 7, false),
    txnBatch(5, 7, ['k0']),
    marker(6, 8, true),
    marker(7, 7, true),
  ]);
  const batches = parseBatches(log);
  const all = committedRecords(batches, [{ producerId: 7, firstOffset: 0 }], 0);
  t.same(all.records.map((r) => r.value?.toString()), ['c0', 'plain', 'k0'], 'the aborted batches and the markers are dropped');
  t.equal(all.nextOffset, 8, 'the position moves past the last marker');
  const from = committedRecords(batches.slice(1), [{ producerId: 7, firstOffset: 0 }], 2);
  t.same(from.records.map((r) => r.value?.toString()), ['c0', 'plain', 'k0'], 'an answer starting inside an aborted transaction still drops nothing else');
  const none = committedRecords(batches, [], 0);
  t.same(none.records.map((r) => r.value?.toString()), ['a0', 'a1', 'c0', 'plain', 'k0'], 'without the aborted list nothing is dropped');
});

function w(value: string, partition: number, offset: number): WriteOp {
  return { value, partition, acks: -1, broker: 1, sentAt: 0, doneAt: 1, outcome: 'ok', offset, errorCode: 0 };
}

function txn(id: string, outcome: TxnRecord['outcome'], values: [string, number, number][]): TxnRecord {
  return { id, transactionalId: id.split('#')[0]!, outcome, detail: '', values: values.map(([value, partition, n]) => ({ value, partition, n })) };
}

function read(observer: string, partition: number, offset: number, value: string, at?: number) {
  return { observer, partition, offset, value, at };
}

function history(over: Partial<TxnHistory>): TxnHistory {
  return { txns: [], writes: [], reads: [], positions: [], lsos: [], finalObserver: 'final', ...over };
}

t.test('a clean transactional history passes', async (t) => {
  const txns = [
    txn('x#0', 'committed', [['x0', 0, 0], ['x1', 1, 1]]),
    txn('x#1', 'aborted', [['x2', 0, 2]]),
    txn('x#2', 'unknown', [['x3', 0, 3], ['x4', 1, 4]]),
    txn('x#3', 'committed', [['x5', 0, 5]]),
  ];
  const writes = [w('x0', 0, 0), w('x1', 1, 0), w('x2', 0, 1), w('x3', 0, 3), w('x4', 1, 2), w('x5', 0, 6)];
  const reads = [
    read('final', 0, 0, 'x0'), read('final', 1, 0, 'x1'), read('final', 0, 6, 'x5'),
    // The tailing reader stopped before x#2 on partition 1 and saw x#0 on partition 0 only.
    read('c', 0, 0, 'x0', 20),
  ];
  const positions = [{ observer: 'c', partition: 0, offset: 3 }, { observer: 'c', partition: 1, offset: 0 }];
  const lsos = [{ observer: 'c', partition: 0, broker: 1, hw: 2, at: 1 }, { observer: 'c', partition: 0, broker: 2, hw: 5, at: 2 }];
  txns[0]!.commitSentAt = 10;
  const r = checkTransactions(history({ txns, writes, reads, positions, lsos }));
  t.same([r.txns, r.committed, r.aborted, r.unknown, r.unknownVisible, r.committedValues, r.committedSeen], [4, 2, 1, 1, 0, 3, 3]);
  t.same([r.missing, r.partial, r.abortedSeen, r.early, r.vanished, r.seenTwice, r.orderBroken, r.lsoBack], [[], [], [], [], [], [], [], []]);
});

t.test('each transactional anomaly is reported', async (t) => {
  const txns = [
    txn('x#0', 'committed', [['x0', 0, 0], ['x1', 1, 1]]),
    txn('x#1', 'aborted', [['x2', 0, 2]]),
    txn('x#2', 'committed', [['x3', 0, 3]]),
    txn('x#3', 'unknown', [['x4', 0, 4], ['x5', 1, 5]]),
    txn('x#4', 'committed', [['x6', 1, 6]]),
    txn('x#5', 'committed', [['x7', 1, 7]]),
  ];
  const writes = [w('x0', 0, 0), w('x1', 1, 0), w('x2', 0, 1), w('x3', 0, 3), w('x4', 0, 4), w('x5', 1, 1), w('x6', 1, 2), w('x7', 1, 3)];
  const reads = [
    read('final', 0, 0, 'x0'), // x1 missing: x#0 partly visible
    read('final', 0, 1, 'x2'), // aborted, read
    read('final', 0, 4, 'x4'), read('final', 1, 1, 'x5'),
    read('final', 1, 2, 'x6'), read('c', 1, 2, 'x6'), read('c', 1, 2, 'x6'), // read twice by c
    read('c', 0, 3, 'x3'), // x#2: c saw it, the final read did not (invisible, vanished)
    read('final', 1, 3, 'x7'),
    read('d', 1, 1, 'x7', 50), read('d', 1, 2, 'x6'), // d saw x6 after x7, produced before it; x7 before its commit
  ];
  const positions = [{ observer: 'c', partition: 0, offset: 4 }, { observer: 'c', partition: 1, offset: 3 }];
  const lsos = [{ observer: 'c', partition: 0, broker: 1, hw: 5, at: 1 }, { observer: 'c', partition: 0, broker: 2, hw: 3, at: 2 }];
  txns[5]!.commitSentAt = 100;
  const r = checkTransactions(history({ txns, writes, reads, positions, lsos }));
  t.same(r.missing, [{ txn: 'x#2', values: 1 }], 'a committed transaction the final read did not see');
  t.same(r.partial.map((p) => `${p.txn}:${p.observer}:${p.seen}/${p.covered}`), ['x#0:final:1/2'], 'a transaction partly visible');
  t.same(r.abortedSeen.map((a) => a.value), ['x2'], 'a value of an aborted transaction read');
  t.same(r.early, [{ txn: 'x#5', observer: 'd', value: 'x7', msBeforeCommit: 50 }], 'a value read before its commit was sent');
  t.same(r.vanished, [{ observer: 'c', value: 'x3' }], 'a value read, then gone');
  t.same(r.seenTwice, [{ observer: 'c', value: 'x6', times: 2 }], 'a value read twice');
  t.same(r.orderBroken.map((o) => `${o.observer}:${o.value}<${o.after}`), ['d:x6<x7'], 'a committed value read after one produced later');
  t.same(r.lsoBack.map((l) => `${l.from}->${l.to}`), ['5->3'], 'a last stable offset moving back');
  t.equal(r.unknownVisible, 1, 'the unknown transaction counts as visible');
});
