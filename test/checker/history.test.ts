// The checks over a history, on hand-made histories: each anomaly is found, and a clean
// history passes.
import t from 'tap';
import { check, median, type History, type WriteOp } from '../../src/checker/history.js';

function w(value: string, partition: number, offset: number, outcome: WriteOp['outcome'] = 'ok', acks: -1 | 1 = -1, at = 0): WriteOp {
  return { value, partition, acks, broker: 1, sentAt: at, doneAt: at + 5, outcome, offset: outcome === 'ok' ? offset : -1, errorCode: outcome === 'ok' ? 0 : 7 };
}

function history(over: Partial<History>): History {
  return { writes: [], reads: [], hws: [], faults: [], finalObserver: 'final', ...over };
}

t.test('a clean history passes', async (t) => {
  const writes = [w('a', 0, 0), w('b', 0, 1), w('c', 0, -1, 'unknown')];
  const reads = [
    { observer: 'final', partition: 0, offset: 0, value: 'a' },
    { observer: 'final', partition: 0, offset: 1, value: 'b' },
    { observer: 'c1', partition: 0, offset: 1, value: 'b' },
  ];
  const r = check(history({ writes, reads, hws: [{ observer: 'c1', partition: 0, broker: 1, hw: 1, at: 1 }, { observer: 'c1', partition: 0, broker: 2, hw: 2, at: 2 }] }));
  t.equal(r.acked, 2);
  t.equal(r.unknown, 1);
  t.same([r.lost, r.duplicated, r.conflicts, r.reordered, r.hwBack, r.unexpected], [[], [], [], [], [], []]);
});

t.test('each anomaly is reported', async (t) => {
  const writes = [w('a', 0, 0), w('b', 0, 1), w('c', 0, 2), w('d', 0, 3), w('e', 0, 4, 'ok', 1)];
  const reads = [
    { observer: 'final', partition: 0, offset: 0, value: 'a' },
    { observer: 'final', partition: 0, offset: 1, value: 'c' },
    { observer: 'final', partition: 0, offset: 2, value: 'b' },
    { observer: 'final', partition: 0, offset: 5, value: 'zz' },
  ];
  const r = check(history({ writes, reads, hws: [{ observer: 'c1', partition: 0, broker: 1, hw: 5, at: 1 }, { observer: 'c1', partition: 0, broker: 2, hw: 3, at: 2 }] }));
  t.same(r.lost.sort(), ['d'], 'the acked value missing from the final read is lost');
  t.same(r.lostAcks1, ['e'], 'a lost acks=1 value is reported apart');
  t.same(r.duplicated.map((d) => d.value).sort(), ['b', 'c'], 'values read at another offset than acknowledged');
  t.same(r.conflicts.map((c) => c.offset).sort(), [1, 2], 'offsets with two values');
  t.ok(r.reordered.length > 0, 'the final read disagrees with the acks on order');
  t.same(r.hwBack, [{ observer: 'c1', partition: 0, from: 5, to: 3, fromBroker: 1, toBroker: 2 }]);
  t.same(r.unexpected, ['zz']);
});

t.test('an idempotent retry counts once; recovery is timed per fault', async (t) => {
  const writes = [w('a', 0, -1, 'unknown', -1, 0), w('a', 0, 0, 'ok', -1, 10), w('b', 1, 0, 'ok', -1, 120), w('c', 0, 1, 'ok', -1, 150)];
  const r = check(history({
    writes,
    reads: [{ observer: 'final', partition: 0, offset: 0, value: 'a' }, { observer: 'final', partition: 0, offset: 1, value: 'c' }, { observer: 'final', partition: 1, offset: 0, value: 'b' }],
    faults: [{ name: 'kill', at: 100, partitions: [0, 1], detail: '' }, { name: 'kill', at: 200, partitions: [0], detail: '' }],
  }));
  t.equal(r.attempted, 3);
  t.equal(r.acked, 3);
  t.same(r.recoveries.map((x) => x.ms), [55, null], 'slowest partition counts; no ack after the fault is null');
  t.equal(median([3, 1, 2, 10]), 2.5);
});
