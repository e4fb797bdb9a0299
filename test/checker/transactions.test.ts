// The checker's transactional workload on three brokers: transactional producers commit or
// abort transactions over every partition while read_committed readers tail each partition,
// and the leader of a partition is SIGKILLed, then the broker coordinating a transactional id.
// Every committed transaction must be visible whole, no aborted value ever, nothing
// acknowledged lost.
import t from 'tap';
import { inTurn, killLeader, killTxnCoordinator } from './faults.js';
import { assertTxnRun } from './assertions.js';
import { runScenario } from './scenario.js';

t.test('transactions under SIGKILL of a leader and of the transaction coordinator', async (t) => {
  const r = await runScenario('transactions', inTurn(killLeader(1), killTxnCoordinator(1)), {
    direct: true,
    idempotent: true,
    settings: { 'transaction.state.log.num.partitions': 6 },
    workload: { transactional: true },
    onError: (o) => t.comment(o.slice(-20_000)),
  });
  assertTxnRun(t, r);
});
