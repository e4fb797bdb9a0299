// The checker under overlapping faults: SIGKILL a partition leader, restart it, and while it
// is still catching up SIGKILL the leader of another partition. Partitions left with one
// replica in sync refuse acks=all writes until the first broker is back in their ISR; nothing
// acknowledged may be lost, and every partition must take writes again.
import t from 'tap';
import { overlappingKills } from './faults.js';
import { assertRun } from './assertions.js';
import { runScenario } from './scenario.js';

t.test('a second SIGKILL while the first killed broker catches up', async (t) => {
  assertRun(t, await runScenario('overlap', overlappingKills(1), { direct: true, idempotent: true, onError: (o) => t.comment(o.slice(-20_000)) }));
});
