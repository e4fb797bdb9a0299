// The replication throttle's rate and bound, driven by a test clock: Kafka's SimpleRate over
// sample windows (the figures of Kafka's ReplicationQuotaManagerTest), samples expiring after
// an idle spell, and one state shared by two handles on the same buffer as the partition
// workers' fetchers share it.
import t from 'tap';
import { ReplicationQuota, replicationQuotaBuffer } from '../../src/shared/replication-quota.js';

t.test('a new throttle has no bound and is never exceeded', async (t) => {
  const q = new ReplicationQuota(replicationQuotaBuffer());
  t.equal(q.bound, Infinity);
  q.record(1e12, 0);
  t.notOk(q.exceeded(1));
});

t.test('the rate is the bytes since the first sample began, at least over one window', async (t) => {
  const q = new ReplicationQuota(replicationQuotaBuffer(10));
  q.bound = 100;
  let now = 0;
  t.notOk(q.exceeded(now), 'not exceeded at the start: the first look begins the first sample');
  now += 1500;
  q.record(1, now);
  q.record(149, now);
  t.notOk(q.exceeded(now), '150 B over 1.5 s is 100 B/s: at the bound, not above it');
  q.record(1, now);
  t.equal(q.rate(now), 151 / 1.5);
  t.ok(q.exceeded(now), 'one byte more is above it');
  now += 500;
  t.equal(q.rate(now), 151 / 2);
  t.notOk(q.exceeded(now), 'time passing brings the rate back under the bound');
  now += 500;
  q.record(99, now);
  t.equal(q.rate(now), 250 / 2.5);
  t.notOk(q.exceeded(now));
  q.record(1, now);
  t.ok(q.exceeded(now));
  now += 2000;
  t.equal(q.rate(now), 251 / 4.5);
  t.notOk(q.exceeded(now));
});

t.test('the first window counts as a whole one, so the first bytes do not read as a huge rate', async (t) => {
  const q = new ReplicationQuota(replicationQuotaBuffer());
  q.bound = 1000;
  q.record(1000, 0);
  t.equal(q.rate(1), 1000);
  t.notOk(q.exceeded(1));
  q.record(1, 2);
  t.ok(q.exceeded(2));
});

t.test('samples idle for all the windows are dropped, and samples are reused in turn', async (t) => {
  const q = new ReplicationQuota(replicationQuotaBuffer(3));
  q.bound = 10;
  q.record(100, 0);
  t.ok(q.exceeded(1000));
  t.equal(q.rate(2999), 100 / 2.999);
  t.equal(q.rate(3000), 0, 'three idle windows later the sample is gone');
  t.notOk(q.exceeded(3000));
  // One record per window for ten windows, in four samples (windows + 1) reused in turn: at
  // 19 s the sample of 16 s has had no event for three windows, so the rate counts 17 to 19 s.
  for (let w = 0; w < 10; w++) q.record(10, 10_000 + w * 1000);
  t.equal(q.rate(19_000), 30 / 2, 'the samples within the windows, from the oldest one\'s start');
  t.equal(q.rate(19_500), 30 / 2.5);
});

t.test('two handles on one buffer share the bytes and the bound', async (t) => {
  const buffer = replicationQuotaBuffer();
  const a = new ReplicationQuota(buffer);
  const b = new ReplicationQuota(buffer);
  a.bound = 2000;
  t.equal(b.bound, 2000);
  a.record(1500, 0);
  t.notOk(b.exceeded(0));
  b.record(1000, 0);
  t.ok(a.exceeded(0), 'what either records counts against the one bound');
  t.equal(a.rate(0), 2500);
});
