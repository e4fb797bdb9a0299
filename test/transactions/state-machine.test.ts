// The transaction coordinator's state machine driven directly: requests in with a simulated
// clock, replies, records and markers out. Records are "persisted" by handing the tokens back
// and replayed into a fresh machine to check what a new coordinator would know.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { decodeTxnKey, decodeTxnValue, TxnState } from '../../src/shared/transactions/records.js';
import { MAX_PRODUCER_EPOCH, TxnStateMachine, type Effects, type EndResult, type InitResult, type Markers, type Write } from '../../src/shared/transactions/txn-state-machine.js';

const TIMEOUT = 60_000;

class Harness {
  now = 1_000_000;
  readonly replies = new Map<number, unknown>();
  readonly writes: Write[] = [];
  readonly log: Write[] = [];
  markers: Markers[] = [];
  private to = 1;
  private ids = 1000;
  m = new TxnStateMachine({ maxTimeoutMs: 900_000, idExpirationMs: 7 * 86_400_000 });

  take(fx: Effects): void {
    for (const r of fx.replies) this.replies.set(r.to, r.result);
    this.writes.push(...fx.writes);
    this.markers.push(...fx.markers);
  }

  send(event: (now: number, to: number) => Effects): number {
    const to = this.to++;
    this.take(event(this.now, to));
    return to;
  }

  persistAll(errorCode: number = ErrorCode.NONE): void {
    while (this.writes.length) {
      const w = this.writes.shift()!;
      if (errorCode === ErrorCode.NONE) this.log.push(w);
      this.take(this.m.persisted(w.token, errorCode));
    }
  }

  init(id: string, producerId = -1, producerEpoch = -1, timeoutMs = TIMEOUT): InitResult {
    const fresh = this.m.needsProducerId(id) ? this.ids++ : -1;
    const to = this.send((now, to) => this.m.initProducerId(now, to, { transactionalId: id, timeoutMs, producerId, producerEpoch, freshProducerId: fresh }));
    this.persistAll();
    return this.replies.get(to) as InitResult;
  }

  add(id: string, p: InitResult, topic = 'out', partitions = [0, 1], clientVersion = 0): number {
    const to = this.send((now, to) => this.m.addPartitions(now, to, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch }, [{ topic, partitions }], clientVersion));
    this.persistAll();
    return (this.replies.get(to) as { errorCode: number }).errorCode;
  }

  end(id: string, p: InitResult, commit: boolean): number {
    return this.endWith(id, p, commit, 0).errorCode;
  }

  /** EndTxn of a client of this transaction version; the answer names the producer to go on with. */
  endWith(id: string, p: InitResult, commit: boolean, clientVersion: number): EndResult {
    const fresh = this.m.endNeedsProducerId(id, clientVersion) ? this.ids++ : -1;
    const to = this.send((now, to) => this.m.endTxn(now, to, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch }, commit, clientVersion, fresh));
    this.persistAll();
    return this.replies.get(to) as EndResult;
  }

  /** Writes every pending marker set, as the shell does once the partitions acknowledged them. */
  completeMarkers(): void {
    const ms = this.markers;
    this.markers = [];
    for (const m of ms) this.take(this.m.markersWritten(this.now, m));
    this.persistAll();
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (let at = this.m.nextDeadline(); at !== null && at <= until; at = this.m.nextDeadline()) {
      this.now = Math.max(this.now, at);
      this.take(this.m.tick(this.now));
      this.persistAll();
    }
    this.now = until;
  }

  /** A fresh machine loaded from the records written so far. */
  reload(): Harness {
    const h = new Harness();
    h.now = this.now;
    for (const w of this.log) h.m.replay(decodeTxnKey(w.key), w.value === null ? null : decodeTxnValue(w.value));
    h.take(h.m.loaded(h.now));
    return h;
  }
}

t.test('init, add, commit: markers name every partition, then the transaction completes', async (t) => {
  const h = new Harness();
  const p = h.init('tx');
  t.same(p, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
  t.equal(h.add('tx', p), ErrorCode.NONE);
  t.equal(h.add('tx', p, 'other', [3]), ErrorCode.NONE);
  t.equal(h.m.describe('tx')!.state, 'Ongoing');
  t.equal(h.end('tx', p, true), ErrorCode.NONE);
  t.equal(h.m.describe('tx')!.state, 'PrepareCommit');
  t.same(h.markers, [{ transactionalId: 'tx', producerId: 1000, producerEpoch: 0, commit: true, partitions: [{ topic: 'out', partitions: [0, 1] }, { topic: 'other', partitions: [3] }] }]);
  // The client's retry of EndTxn while markers are out is told to wait.
  t.equal(h.end('tx', p, true), ErrorCode.CONCURRENT_TRANSACTIONS);
  h.completeMarkers();
  t.equal(h.m.describe('tx')!.state, 'CompleteCommit');
  t.same(h.m.describe('tx')!.partitions, []);
  t.equal(h.end('tx', p, true), ErrorCode.NONE, 'a retried commit of a completed commit succeeds');
  t.equal(h.end('tx', p, false), ErrorCode.INVALID_TXN_STATE);
  // The next transaction of the same producer.
  t.equal(h.add('tx', p, 'out', [2]), ErrorCode.NONE);
  t.equal(h.end('tx', p, false), ErrorCode.NONE);
  t.equal(h.markers[0]!.commit, false);
  h.completeMarkers();
  t.equal(h.m.describe('tx')!.state, 'CompleteAbort');
});

t.test('a second InitProducerId bumps the epoch and fences the old producer', async (t) => {
  const h = new Harness();
  const zombie = h.init('tx');
  const p = h.init('tx');
  t.same(p, { errorCode: ErrorCode.NONE, producerId: zombie.producerId, producerEpoch: 1 });
  t.equal(h.add('tx', zombie), ErrorCode.PRODUCER_FENCED);
  t.equal(h.add('tx', { ...zombie, producerId: 5 }), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  t.equal(h.add('tx', p), ErrorCode.NONE);
  t.equal(h.end('tx', zombie, true), ErrorCode.PRODUCER_FENCED);
  // KIP-360: the fenced producer may not bump itself back in.
  t.equal(h.init('tx', zombie.producerId, zombie.producerEpoch).errorCode, ErrorCode.PRODUCER_FENCED);
  t.equal(h.m.describe('tx')!.state, 'Ongoing', 'the current producer goes on');
});

t.test('InitProducerId during an Ongoing transaction aborts it with a bumped epoch', async (t) => {
  const h = new Harness();
  const old = h.init('tx');
  h.add('tx', old);
  t.equal(h.init('tx').errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  t.same(h.markers.map((m) => [m.commit, m.producerEpoch]), [[false, 1]], 'abort markers carry the new epoch');
  t.equal(h.init('tx').errorCode, ErrorCode.CONCURRENT_TRANSACTIONS, 'still aborting');
  h.completeMarkers();
  const p = h.init('tx');
  t.same(p, { errorCode: ErrorCode.NONE, producerId: old.producerId, producerEpoch: 2 });
  t.equal(h.add('tx', old), ErrorCode.PRODUCER_FENCED);
});

t.test('an Ongoing transaction past its timeout is aborted and its producer fenced', async (t) => {
  const h = new Harness();
  const p = h.init('tx', -1, -1, 10_000);
  h.add('tx', p);
  t.equal(h.m.nextDeadline(), h.now + 10_000);
  h.advance(9_999);
  t.same(h.markers, []);
  h.advance(1);
  t.equal(h.m.describe('tx')!.state, 'PrepareAbort');
  t.same(h.markers.map((m) => [m.commit, m.producerEpoch, m.partitions]), [[false, 1, [{ topic: 'out', partitions: [0, 1] }]]]);
  h.completeMarkers();
  t.equal(h.m.describe('tx')!.state, 'CompleteAbort');
  t.equal(h.end('tx', p, true), ErrorCode.PRODUCER_FENCED);
  t.equal(h.m.nextDeadline(), h.now + 7 * 86_400_000, 'next: the id\'s expiration');
});

t.test('timeouts beyond transaction.max.timeout.ms are refused', async (t) => {
  const h = new Harness();
  t.equal(h.init('tx', -1, -1, 900_001).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  t.equal(h.init('tx', -1, -1, 0).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  t.equal(h.m.get('tx'), undefined);
});

t.test('at the last epoch the id gets a fresh producer id', async (t) => {
  const h = new Harness();
  const p = h.init('tx');
  h.m.replay('tx', { producerId: p.producerId, producerEpoch: MAX_PRODUCER_EPOCH - 1, timeoutMs: TIMEOUT, state: TxnState.CompleteCommit, partitions: [], lastUpdateMs: h.now, startMs: h.now, previousProducerId: -1, nextProducerId: -1, clientVersion: 0 });
  const q = h.init('tx');
  t.same(q, { errorCode: ErrorCode.NONE, producerId: p.producerId + 1, producerEpoch: 0 });
});

t.test('a failed write leaves the state as it was and answers with the coordinator error', async (t) => {
  const h = new Harness();
  const p = h.init('tx');
  const to = h.send((now, to) => h.m.addPartitions(now, to, { transactionalId: 'tx', producerId: p.producerId, producerEpoch: 0 }, [{ topic: 'out', partitions: [0] }]));
  const again = h.send((now, to) => h.m.addPartitions(now, to, { transactionalId: 'tx', producerId: p.producerId, producerEpoch: 0 }, [{ topic: 'out', partitions: [1] }]));
  t.same(h.replies.get(again), { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS }, 'a request while a write is out waits');
  h.persistAll(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  t.same(h.replies.get(to), { errorCode: ErrorCode.NOT_COORDINATOR });
  t.equal(h.m.describe('tx')!.state, 'Empty');
  const first = h.send((now, to) => h.m.initProducerId(now, to, { transactionalId: 'new', timeoutMs: TIMEOUT, producerId: -1, producerEpoch: -1, freshProducerId: 7 }));
  h.persistAll(ErrorCode.REQUEST_TIMED_OUT);
  t.same(h.replies.get(first), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 });
  t.equal(h.m.get('new'), undefined, 'an id whose first record was not written is not known');
});

t.test('a reloaded coordinator knows every id and finishes transactions caught in prepare', async (t) => {
  const h = new Harness();
  const a = h.init('a');
  const b = h.init('b');
  h.add('a', a);
  h.add('b', b, 'x', [5]);
  h.end('a', a, true);
  h.markers = [];
  const r = h.reload();
  t.same(r.m.describe('a'), { transactionalId: 'a', state: 'PrepareCommit', producerId: a.producerId, producerEpoch: 0, timeoutMs: TIMEOUT, startMs: h.now, partitions: [{ topic: 'out', partitions: [0, 1] }] });
  t.equal(r.m.describe('b')!.state, 'Ongoing');
  t.same(r.markers.map((m) => [m.transactionalId, m.commit]), [['a', true]]);
  r.completeMarkers();
  t.equal(r.m.describe('a')!.state, 'CompleteCommit');
  t.equal(r.end('b', b, false), ErrorCode.NONE, 'the producer of b goes on with the new coordinator');
  r.advance(TIMEOUT);
  t.equal(r.m.nextDeadline(), r.now - TIMEOUT + 7 * 86_400_000, 'what is left is the ids\' expiration');
  t.same(r.m.list().map((d) => d.transactionalId).sort(), ['a', 'b']);
});

t.test('abandon answers every waiting request', async (t) => {
  const h = new Harness();
  const to = h.send((now, to) => h.m.initProducerId(now, to, { transactionalId: 'tx', timeoutMs: TIMEOUT, producerId: -1, producerEpoch: -1, freshProducerId: 9 }));
  h.take(h.m.abandon(ErrorCode.NOT_COORDINATOR));
  t.same(h.replies.get(to), { errorCode: ErrorCode.NOT_COORDINATOR, producerId: -1, producerEpoch: -1 });
});

t.test('an id idle past transactional.id.expiration.ms is removed with a tombstone', async (t) => {
  const h = new Harness();
  const p = h.init('idle');
  const busy = h.init('busy');
  h.advance(7 * 86_400_000 - 1000);
  h.add('busy', busy);
  h.advance(1000);
  t.equal(h.m.get('idle'), undefined, 'the idle id is gone');
  t.same(h.log.filter((w) => w.value === null).map((w) => decodeTxnKey(w.key)), ['idle'], 'by a tombstone');
  t.equal(h.m.describe('busy')!.state, 'Ongoing', 'the id with a transaction in progress stays');
  t.equal(h.reload().m.get('idle'), undefined, 'a reload does not bring it back');
  t.equal(h.add('idle', p), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
});

// ---- transactions v2 (KIP-890): every end bumps the epoch --------------------------------

const V2 = 2;

t.test('v2: every end bumps the epoch, the markers carry it and the answer hands it to the client', async (t) => {
  const h = new Harness();
  const p0 = h.init('tx');
  t.equal(h.add('tx', p0, 'out', [0], V2), ErrorCode.NONE, 'a partition leader adds the partition of a v2 transaction');
  const p1 = h.endWith('tx', p0, true, V2);
  t.same(p1, { errorCode: ErrorCode.NONE, producerId: p0.producerId, producerEpoch: 1 });
  t.same(h.markers.map((m) => [m.commit, m.producerId, m.producerEpoch]), [[true, p0.producerId, 1]], 'the commit markers carry the bumped epoch');
  t.same(h.endWith('tx', p0, true, V2), { errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, producerId: -1, producerEpoch: -1 }, 'a retry while the markers are out waits');
  h.completeMarkers();
  t.same(h.endWith('tx', p0, true, V2), p1, 'a retry after completion gets the same answer');
  t.equal(h.endWith('tx', p0, false, V2).errorCode, ErrorCode.INVALID_TXN_STATE, 'an abort under the old epoch after a commit is refused');
  t.equal(h.add('tx', p0, 'out', [1], V2), ErrorCode.PRODUCER_FENCED, 'the ended transaction\'s epoch can add nothing more');
  const q = { ...p1, errorCode: ErrorCode.NONE };
  t.equal(h.add('tx', q, 'out', [1], V2), ErrorCode.NONE, 'the next transaction, under the new epoch');
  const p2 = h.endWith('tx', q, false, V2);
  t.same(p2, { errorCode: ErrorCode.NONE, producerId: p0.producerId, producerEpoch: 2 });
  h.completeMarkers();
  const r = h.reload();
  t.same(r.endWith('tx', q, false, V2), p2, 'a reloaded coordinator still takes the retry of the last end');
  t.equal(r.m.get('tx')!.clientVersion, V2);
});

t.test('v2: an abort with nothing added bumps the epoch; a commit with nothing added is refused', async (t) => {
  const h = new Harness();
  const p0 = h.init('tx');
  t.equal(h.endWith('tx', p0, true, V2).errorCode, ErrorCode.INVALID_TXN_STATE);
  const p1 = h.endWith('tx', p0, false, V2);
  t.same(p1, { errorCode: ErrorCode.NONE, producerId: p0.producerId, producerEpoch: 1 });
  t.same(h.markers.map((m) => m.partitions), [[]], 'no partition gets a marker');
  h.completeMarkers();
  t.equal(h.m.describe('tx')!.state, 'CompleteAbort');
  t.same(h.endWith('tx', p0, false, V2), p1, 'a retry of that abort gets the same answer');
  t.equal(h.endWith('tx', { ...p0, producerEpoch: 5 }, false, V2).errorCode, ErrorCode.PRODUCER_FENCED, 'an epoch the coordinator never gave is fenced');
});

t.test('v2: the end at the last epoch hands out a fresh producer id', async (t) => {
  const h = new Harness();
  const p = h.init('tx');
  const last = MAX_PRODUCER_EPOCH - 1;
  h.m.replay('tx', { producerId: p.producerId, producerEpoch: last, timeoutMs: TIMEOUT, state: TxnState.Ongoing, partitions: [{ topic: 'out', partitions: [0] }], lastUpdateMs: h.now, startMs: h.now, previousProducerId: -1, nextProducerId: -1, clientVersion: V2 });
  const old = { errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: last };
  const next = h.endWith('tx', old, true, V2);
  t.same(next, { errorCode: ErrorCode.NONE, producerId: p.producerId + 1, producerEpoch: 0 });
  t.same(h.markers.map((m) => [m.producerId, m.producerEpoch]), [[p.producerId, MAX_PRODUCER_EPOCH]], 'the markers end the old producer id\'s transaction');
  h.completeMarkers();
  t.same([h.m.get('tx')!.producerId, h.m.get('tx')!.producerEpoch], [p.producerId + 1, 0]);
  t.same(h.endWith('tx', old, true, V2), next, 'a retry under the old producer id gets the fresh one again');
  t.equal(h.reload().m.get('tx')!.previousProducerId, p.producerId, 'the old producer id is in the log');
});

t.test('v2: a timed-out transaction is aborted two epochs on, so the client\'s own abort is fenced', async (t) => {
  const h = new Harness();
  const p = h.init('tx', -1, -1, 10_000);
  h.add('tx', p, 'out', [0], V2);
  h.advance(10_000);
  t.same(h.markers.map((m) => [m.commit, m.producerEpoch]), [[false, 2]]);
  h.completeMarkers();
  t.equal(h.endWith('tx', p, false, V2).errorCode, ErrorCode.PRODUCER_FENCED);
});
