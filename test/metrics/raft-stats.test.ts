// The raft worker's figures as the metrics endpoint reads them: Kafka's windowed avg/max
// (two 30 s samples, NaN when empty), the commit histogram, and leader changes counted once
// per new leader or epoch.
import t from 'tap';
import { RaftStats, raftStatsBuffer } from '../../src/shared/metrics/raft-stats.js';

t.test('commit latency: histogram and windowed avg/max', async (t) => {
  const stats = new RaftStats(raftStatsBuffer());
  const t0 = 1_000_000;
  t.ok(Number.isNaN(stats.commitLatency.avg(t0)) && Number.isNaN(stats.commitLatency.max(t0)), 'nothing committed: NaN, as Kafka reports');
  stats.committed(10, t0);
  stats.committed(30, t0 + 1000);
  t.equal(stats.commitLatency.avg(t0 + 1000), 20, 'average of the window');
  t.equal(stats.commitLatency.max(t0 + 1000), 30, 'maximum of the window');
  stats.committed(2, t0 + 31_000);
  t.equal(stats.commitLatency.avg(t0 + 31_000), 14, 'a second sample: both count');
  t.equal(stats.commitLatency.max(t0 + 61_000), 2, '60 s on, the first sample no longer counts');
  t.ok(Number.isNaN(stats.commitLatency.avg(t0 + 92_000)), 'and later none does');
  t.equal(stats.commitLatencyUs.count, 3, 'the histogram keeps every commit');
  t.equal(stats.commitLatencyUs.sum, 42_000, 'in microseconds');
});

t.test('leader changes', async (t) => {
  const stats = new RaftStats(raftStatsBuffer());
  t.equal(stats.leader, -1, 'no leader known at first');
  stats.setState(-1, 0, 0, 0);
  t.equal(stats.leaderChanges, 0, 'no leader: no change');
  stats.setState(2, 1, 3, 4);
  stats.setState(2, 1, 5, 5);
  t.equal(stats.leaderChanges, 1, 'the first leader known counts once');
  t.same([stats.leader, stats.epoch, stats.highWatermark, stats.logEnd], [2, 1, 5, 5], 'state as last set');
  stats.setState(-1, 2, 5, 5);
  stats.setState(3, 2, 5, 6);
  t.equal(stats.leaderChanges, 2, 'a new leader in a new epoch counts');
  stats.setState(3, 3, 6, 6);
  t.equal(stats.leaderChanges, 3, 'the same node elected again in a new epoch counts');
});
