// Transactions in a partition's producer state: open transactions bound the last stable
// offset, markers end them (commit or abort), aborted ones yield their transaction index
// entries, zombies are fenced by a coordinator's newer epoch, and all of it survives a snapshot.
import t from 'tap';
import { ControlType } from '../../src/shared/control-records.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/workers/partition/log/producer-snapshot.js';
import { ProducerStateManager, type AppendCheck, type ProducerBatch } from '../../src/workers/partition/log/producer-state.js';
import { TxnIndex, type AbortedTxn } from '../../src/workers/partition/log/txn-index.js';

const TXN = 0x10;
const CONTROL = 0x30;

function data(producerId: number, epoch: number, seq: number, records = 1, attributes = TXN): ProducerBatch {
  return { producerId, producerEpoch: epoch, baseSequence: seq, lastOffsetDelta: records - 1, maxTimestamp: 1_000, attributes };
}

function marker(producerId: number, epoch: number, commit: boolean): ProducerBatch {
  return { producerId, producerEpoch: epoch, baseSequence: -1, lastOffsetDelta: 0, maxTimestamp: 1_000, attributes: CONTROL, controlType: commit ? ControlType.COMMIT : ControlType.ABORT };
}

function append(s: ProducerStateManager, batches: ProducerBatch[], offset: number, markers = false, aborted: AbortedTxn[] = []): AppendCheck {
  const r = s.checkAppend(batches, offset, markers);
  if (r.kind === 'append') aborted.push(...s.commit(r.updates, r.ended));
  return r;
}

function overlapping(entries: AbortedTxn[], from: number, to: number): AbortedTxn[] {
  const index = new TxnIndex();
  for (const e of entries) index.add(e);
  const out: AbortedTxn[] = [];
  index.collect(from, to, out);
  return out;
}

t.test('open transactions hold the last stable offset; markers release it', async (t) => {
  const s = new ProducerStateManager();
  t.equal(s.firstUnstableOffset(), null);
  append(s, [data(1, 0, 0, 3)], 0);
  append(s, [data(2, 0, 0, 2)], 3);
  append(s, [data(1, 0, 3, 1)], 5);
  t.equal(s.firstUnstableOffset(), 0);
  const aborted: AbortedTxn[] = [];
  t.equal(append(s, [marker(1, 0, true)], 6, true, aborted).kind, 'append');
  t.same(aborted, [], 'a commit is not indexed');
  t.equal(s.firstUnstableOffset(), 3, 'the commit of producer 1 leaves producer 2 open');
  append(s, [marker(2, 0, false)], 7, true, aborted);
  t.equal(s.firstUnstableOffset(), null);
  t.same(aborted, [{ producerId: 2, firstOffset: 3, lastOffset: 7, lastStableOffset: 8 }]);
  t.same(overlapping(aborted, 0, 3), [], 'a fetch below the aborted records sees none');
  t.same(overlapping(aborted, 4, 9).map((a) => a.producerId), [2]);
  t.same(overlapping(aborted, 8, 20), [], 'a fetch past the marker sees none');
  // The next transaction of producer 1 starts at its next batch.
  append(s, [data(1, 0, 4)], 8);
  t.equal(s.firstUnstableOffset(), 8);
});

t.test('clients may not write markers, nor leave their transaction with plain batches', async (t) => {
  const s = new ProducerStateManager();
  t.same(append(s, [marker(1, 0, true)], 0), { kind: 'error', errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'clients may not write control batches' });
  append(s, [data(1, 0, 0)], 0);
  const plain = append(s, [data(1, 0, 1, 1, 0)], 1);
  t.equal(plain.kind === 'error' && plain.errorCode, ErrorCode.INVALID_TXN_STATE);
  t.equal(append(s, [data(-1, -1, -1, 1, TXN)], 1).kind, 'error', 'a transactional batch names its producer');
});

t.test('a fencing marker with a newer epoch shuts out the zombie', async (t) => {
  const s = new ProducerStateManager();
  append(s, [data(1, 0, 0)], 0);
  const aborted: AbortedTxn[] = [];
  append(s, [marker(1, 1, false)], 1, true, aborted);
  t.same(aborted, [{ producerId: 1, firstOffset: 0, lastOffset: 1, lastStableOffset: 2 }]);
  const zombie = append(s, [data(1, 0, 1)], 2);
  t.equal(zombie.kind === 'error' && zombie.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const stale = append(s, [marker(1, 0, true)], 2, true);
  t.equal(stale.kind === 'error' && stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'a marker of an older epoch is refused');
  t.equal(append(s, [data(1, 1, 0)], 2).kind, 'append', 'the new epoch starts at sequence 0');
});

t.test('replay rebuilds the same transactions, and a snapshot keeps them', async (t) => {
  const s = new ProducerStateManager();
  const batches: [ProducerBatch, number][] = [[data(1, 0, 0, 2), 0], [data(2, 0, 0), 2], [marker(1, 0, false), 3], [data(3, 0, 0), 4]];
  const aborted = batches.flatMap(([b, o]) => s.replay(b, o) ?? []);
  t.same(aborted, [{ producerId: 1, firstOffset: 0, lastOffset: 3, lastStableOffset: 2 }], 'the stable offset stops at producer 2');
  t.equal(s.firstUnstableOffset(), 2);
  const snap = decodeSnapshot(encodeSnapshot(s.entries()))!;
  const r = new ProducerStateManager();
  r.restore(snap.entries);
  t.equal(r.firstUnstableOffset(), 2);
  t.equal(r.removeExpired(1_000 + 86_400_000), 1, 'only the producer without an open transaction expires');
  r.truncateHead(4);
  t.equal(r.firstUnstableOffset(), 4, 'an open transaction whose start is gone starts at the log start');
});

t.test('a transaction stays unstable until the high watermark passes its marker', async (t) => {
  // A leader whose marker is not yet on its followers may be replaced by one without it, where
  // the transaction is still open: read_committed must not have shown it (Kafka's
  // unreplicated transactions), or the last stable offset would move back.
  const s = new ProducerStateManager();
  append(s, [data(1, 0, 0, 3)], 0);
  append(s, [data(2, 0, 0, 2)], 3);
  append(s, [marker(1, 0, true)], 5, true);
  append(s, [marker(2, 0, false)], 6, true);
  t.equal(s.lastStableOffset(5), 0, 'the records are replicated, the commit marker is not');
  t.equal(s.lastStableOffset(6), 3, 'the commit marker is replicated, the abort marker is not');
  t.equal(s.lastStableOffset(7), 7, 'both markers are below the high watermark');
  s.highWatermarkReached(7);
  t.same(s.unreplicated(), [], 'and are forgotten once the high watermark has passed them');
  append(s, [data(1, 0, 3)], 7);
  t.equal(s.lastStableOffset(8), 7, 'the next transaction holds it again');

  // A follower replaying the log, or a log rebuilt after truncation, keeps the same rule.
  const f = new ProducerStateManager();
  f.replay(data(1, 0, 0, 3), 0);
  f.replay(marker(1, 0, true), 3);
  t.equal(f.lastStableOffset(3), 0, 'a replayed marker above the high watermark');
  const rebuilt = new ProducerStateManager();
  rebuilt.restore(f.entries(), f.unreplicated());
  t.equal(rebuilt.lastStableOffset(3), 0, 'restored with the state it was rebuilt from');
  t.equal(rebuilt.lastStableOffset(4), 4);
});
