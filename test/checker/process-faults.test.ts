// The checker under the process faults other than SIGKILL, each in its own run on a fresh
// cluster: SIGSTOP/SIGCONT of a leader, a rolling restart of all three brokers (each SIGTERM
// must exit 0), and two of three brokers down, where acks=all produce must never succeed.
import t from 'tap';
import { pauseLeader, rollingRestart, twoDown } from './faults.js';
import { assertRun } from './assertions.js';
import { runScenario } from './scenario.js';

t.test('SIGSTOP a leader past the session timeout, then SIGCONT', async (t) => {
  assertRun(t, await runScenario('sigstop-leader', pauseLeader(6000), { direct: true, onError: (o) => t.comment(o.slice(-20_000)) }));
});

t.test('rolling restart of all three brokers', async (t) => {
  assertRun(t, await runScenario('rolling-restart', rollingRestart(), { direct: true, onError: (o) => t.comment(o.slice(-20_000)) }));
});

t.test('two of three brokers down: acks=all never succeeds', async (t) => {
  assertRun(t, await runScenario('two-down', twoDown(8000), { direct: true, onError: (o) => t.comment(o.slice(-20_000)) }));
});
