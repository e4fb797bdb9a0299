// A three-broker cluster's raft metrics as an operator watches a controller failure: every
// node names the same quorum leader and has counted it; when the controller is killed the
// survivors count the new leader and the winner reports how long its election took; the
// restarted node counts the leader it finds.
import t from 'tap';
import { freePort } from '../helpers/broker.js';
import { agreedController, killAndAwaitNewController, startCluster, waitFor } from '../cluster/fixtures/cluster.js';
import { scrape, value } from './metrics-helpers.js';

const CHANGES = 'kafka_controller_kafkacontroller_newactivecontrollerscount';
const LEADER = 'kafka_server_raft_metrics_current_leader';

t.test('leader changes and election latency across a controller failure', async (t) => {
  const metricsPorts = [await freePort(), await freePort(), await freePort()];
  const cluster = await startCluster((id) => ({ 'metrics.listener': `http://127.0.0.1:${metricsPorts[id - 1]}` }));
  t.teardown(() => {
    if (!t.passing()) console.error(cluster.output());
    cluster.cleanup();
  });
  const metricsOf = (id: number) => scrape(metricsPorts[id - 1]!);
  const namesLeader = (ids: number[], leader: number) =>
    waitFor(`brokers ${ids} to report leader ${leader}`, 20_000, async () => {
      const texts = await Promise.all(ids.map(metricsOf));
      return texts.every((x) => value(x, LEADER) === leader) ? texts : undefined;
    });

  const first = await agreedController(cluster, 30_000);
  const before = await namesLeader([1, 2, 3], first);
  t.pass(`all three report node ${first} as the quorum leader`);
  t.ok(before.every((x) => value(x, CHANGES) >= 1), 'each has counted at least that leader');

  const survivors = [1, 2, 3].filter((id) => id !== first);
  const { controller: second } = await killAndAwaitNewController(cluster, first, 20_000);
  const after = await namesLeader(survivors, second);
  t.pass(`the survivors report node ${second} as the new leader`);
  for (const [i, id] of survivors.entries()) {
    t.ok(value(after[i]!, CHANGES) > value(before[id - 1]!, CHANGES), `node ${id} counted the change`);
  }
  const winner = after[survivors.indexOf(second)]!;
  const election = value(winner, 'kafka_server_raft_metrics_election_latency_max');
  t.ok(election > 0 && election < 20_000, `the new leader timed its election (${election.toFixed(1)} ms)`);

  await cluster.broker(first).restart();
  const [rejoined] = await namesLeader([first], second);
  t.ok(value(rejoined!, CHANGES) >= 1, `restarted node ${first} counted the leader it found`);
});
