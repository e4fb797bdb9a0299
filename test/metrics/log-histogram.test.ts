// The request-latency histogram: buckets, quantiles, snapshots and shared memory.
import t from 'tap';
import { BUCKETS, bucketOf, LogHistogram, OCTAVES, upperBoundOf } from '../../src/shared/metrics/log-histogram.js';

t.test('every value lands in a bucket whose bound is within 12.5% above it', async (t) => {
  let worst = 0;
  let order = true;
  for (let whole = 1; whole < 2 ** 27; whole = Math.ceil(whole * 1.013) + 1) {
    // Fractions too: clock differences are not whole microseconds.
    for (const us of [whole, whole + 0.5, whole + 0.999]) {
      const b = bucketOf(us);
      const ub = upperBoundOf(b);
      if (!(ub > us)) order = false;
      if (b > 0 && upperBoundOf(b - 1) > us) order = false;
      worst = Math.max(worst, (ub - us) / us);
    }
  }
  t.ok(order, 'a value is below its bucket\'s bound and at or above the previous bucket\'s');
  t.ok(worst <= 0.125 + 1e-9, `at most 12.5% above (worst ${(worst * 100).toFixed(2)}%)`);
  t.equal(bucketOf(0), 0, 'zero goes to the first bucket');
  t.equal(bucketOf(1e12), BUCKETS - 1, 'past the range goes to the last bucket');
});

t.test('quantiles, snapshots and differences', async (t) => {
  const h = new LogHistogram();
  for (let i = 1; i <= 1000; i++) h.record(i);
  t.equal(h.count, 1000);
  t.equal(h.sum, 500500);
  const p50 = h.quantile(0.5);
  t.ok(p50 >= 500 && p50 <= 500 * 1.125, `p50 ${p50} near 500`);
  const p99 = h.quantile(0.99);
  t.ok(p99 >= 990 && p99 <= 990 * 1.125, `p99 ${p99} near 990`);
  const before = h.snapshot();
  for (let i = 0; i < 10; i++) h.record(50_000);
  const d = h.since(before);
  t.equal(d.count, 10, 'the difference holds only the later records');
  t.ok(d.quantile(0.5) >= 50_000 && d.quantile(0.5) <= 50_000 * 1.125, 'at their own value');
  const cumulative = d.cumulativeByOctave();
  t.equal(cumulative[14], 0, 'none at or below 32.768 ms');
  t.equal(cumulative[15], 10, 'all at or below 65.536 ms');
  t.equal(cumulative[OCTAVES - 1], 10, 'and at the last bound');
});

t.test('a histogram in shared memory is read by another view of it', async (t) => {
  const sab = new SharedArrayBuffer(8 * 1024 * 8);
  const writer = new LogHistogram(sab, 8 * 100);
  const reader = new LogHistogram(sab, 8 * 100);
  writer.record(300);
  writer.record(700);
  t.equal(reader.count, 2, 'the reader sees the writer\'s records');
  t.equal(reader.sum, 1000);
});
