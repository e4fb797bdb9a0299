// The checker under network partitions made by the fault proxies (cluster.ts): a partition
// leader cut off from the other brokers and healed; and a cut-off leader that keeps taking
// acks=1 writes nobody replicates, which after the heal must truncate them and hold a log
// byte-identical to the others below the high watermark.
import t from 'tap';
import { divergentOldLeader, isolateLeader } from './faults.js';
import { assertRun } from './assertions.js';
import { runScenario } from './scenario.js';

t.test('a partition leader cut off, then healed', async (t) => {
  assertRun(t, await runScenario('partition-leader', isolateLeader(8000), { onError: (o) => t.comment(o.slice(-20_000)) }));
});

t.test('an old leader cut off with unreplicated acks=1 writes rejoins, truncates and converges', async (t) => {
  const r = await runScenario('divergent-leader', divergentOldLeader(), { onError: (o) => t.comment(o.slice(-20_000)) });
  assertRun(t, r);
  t.ok(r.result.lostAcks1.length > 0, `the cut-off leader's acks=1 values are gone from the final log (${r.result.lostAcks1.length} of ${r.result.ackedAcks1})`);
});
