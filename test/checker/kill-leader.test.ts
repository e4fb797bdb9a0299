// The checker under SIGKILL of partition leaders: five kills (twenty in the soak, run.ts),
// each followed by a restart of the killed broker and its return to every ISR, while
// producers write unique values with acks=all and consumers tail every partition.
import t from 'tap';
import { killLeader } from './faults.js';
import { assertRun } from './assertions.js';
import { runScenario } from './scenario.js';

t.test('SIGKILL of a partition leader, five times', async (t) => {
  const r = await runScenario('sigkill-leader', killLeader(5), { direct: true, onError: (o) => t.comment(o.slice(-20_000)) });
  assertRun(t, r);
});
