// A three-broker cluster, one partition on all three: when a follower is killed the leader's
// under-replicated gauge goes to 1 (and counts an ISR shrink); when the follower is back and
// has caught up it returns to 0 (and counts an expansion).
import t from 'tap';
import { freePort } from '../helpers/broker.js';
import { isRunning, metadata, produceOne, startCluster, waitFor } from '../cluster/fixtures/cluster.js';
import { scrape, value } from './metrics-helpers.js';

const TOPIC = 'replicated';
const UNDER = 'kafka_server_replicamanager_underreplicatedpartitions';

t.test('under-replicated partitions follow a killed follower', async (t) => {
  const metricsPorts = [await freePort(), await freePort(), await freePort()];
  const cluster = await startCluster((id) => ({
    'metrics.listener': `http://127.0.0.1:${metricsPorts[id - 1]}`,
    'num.partitions': 1,
    'default.replication.factor': 3,
    'replica.lag.time.max.ms': 2000,
  }));
  t.teardown(() => {
    if (!t.passing()) console.error(cluster.output());
    cluster.cleanup();
  });
  const port1 = cluster.broker(1).port;
  // The first produce creates the topic; whichever broker leads it takes the write.
  await waitFor('the topic created with a leader', 60_000, async () => {
    for (const b of cluster.brokers) if ((await produceOne(b.port, TOPIC, 0, 'first').catch(() => null))?.errorCode === 0) return true;
    return undefined;
  }, 250);
  const leader = await waitFor('all three replicas in sync', 30_000, async () => {
    const p = (await metadata(port1, [TOPIC])).topics[0]?.partitions[0];
    return p && p.isrNodes.length === 3 ? p.leaderId : undefined;
  });
  const follower = [1, 2, 3].find((id) => id !== leader)!;
  const sum = async (name: string) => {
    let n = 0;
    for (const b of cluster.brokers) if (isRunning(b)) n += value(await scrape(metricsPorts[b.nodeId - 1]!), name);
    return n;
  };
  t.equal(await sum(UNDER), 0, 'no partition under-replicated while all three run');
  t.equal(await sum('kafka_server_replicamanager_partitioncount'), 3, 'the partition is hosted on three brokers');
  t.equal(await sum('kafka_server_replicamanager_leadercount'), 1, 'and led by one');

  await cluster.broker(follower).kill('SIGKILL');
  await waitFor('the leader to report the partition under-replicated', 30_000, async () => ((await sum(UNDER)) === 1 ? true : undefined), 200);
  t.pass(`follower ${follower} killed: under-replicated partitions 1`);
  t.ok(value(await scrape(metricsPorts[leader - 1]!), 'kafka_server_replicamanager_isrshrinks_total') >= 1, 'the leader counted an ISR shrink');

  await cluster.broker(follower).restart();
  await waitFor('the follower back in the ISR', 60_000, async () => ((await sum(UNDER)) === 0 ? true : undefined), 200);
  t.pass(`follower ${follower} restarted: under-replicated partitions 0`);
  const leaderText = await scrape(metricsPorts[leader - 1]!);
  t.ok(value(leaderText, 'kafka_server_replicamanager_isrexpands_total') >= 1, 'the leader counted an ISR expansion');
});
