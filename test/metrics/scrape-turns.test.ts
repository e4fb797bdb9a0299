// A scrape of /metrics leaves the main thread to the clients between metrics: the registry's
// broker metrics are read one per event-loop turn, so work queued meanwhile (a produce
// answer, say) runs during a scrape instead of waiting for all of it.
import t from 'tap';
import { metricsRegistry } from '../../src/main/metrics-server.js';
import { MetadataCache } from '../../src/main/metadata-cache.js';
import { RequestMetrics } from '../../src/main/request-metrics.js';
import { TopicMetrics } from '../../src/main/topic-metrics.js';
import { ReplicationThrottles } from '../../src/main/replication-throttles.js';
import { threadStatsLayout } from '../../src/shared/metrics/thread-stats.js';
import { partitionStatsBuffer } from '../../src/shared/metrics/partition-stats.js';
import { raftStatsBuffer } from '../../src/shared/metrics/raft-stats.js';

t.test('the event loop turns between the metrics of one scrape', async (t) => {
  const registry = metricsRegistry({
    nodeId: 1,
    requests: new RequestMetrics(),
    threads: threadStatsLayout(['main']),
    topics: new TopicMetrics(),
    partitions: partitionStatsBuffer(1),
    rings: [],
    raft: raftStatsBuffer(),
    replicationQuotas: new ReplicationThrottles(1),
    metadata: new MetadataCache(1),
    groupStates: () => [],
    ready: () => true,
  });
  const brokerMetrics = registry.getMetricsAsArray().filter((m) => m.name.startsWith('kafka_')).length;
  let turns = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const text = await registry.metrics();
  done = true;
  t.match(text, /kafka_server_replicamanager_partitioncount 0/, 'the scrape is whole');
  t.ok(turns >= brokerMetrics, `work queued during the scrape ran ${turns} times while it read ${brokerMetrics} broker metrics`);
});
