/**
 * The tap assertions every checker test makes on a run: one assertion per rule, so a failure
 * names the rule it broke, and the summary table in the test log.
 */
import type { Test } from 'tap';
import { RECOVERY_BOUND_MS } from '../../src/checker/faults.js';
import { fullReport, type RunReport } from '../../src/checker/report.js';

export function assertRun(t: Test, r: RunReport): void {
  t.comment(`\n${fullReport([r])}`);
  const c = r.result;
  t.ok(c.acked > 0, `${c.acked} acks=all writes acknowledged`);
  t.same(c.lost, [], 'no acknowledged acks=all value is lost');
  t.same(c.duplicated, [], 'no value is read at two offsets');
  t.same(c.conflicts, [], 'no offset holds two values');
  t.same(c.reordered, [], 'all observers see the same order');
  t.same(c.hwBack, [], 'no consumer sees a high watermark move backwards');
  t.same(c.unexpected, [], 'nothing is read that was never written');
  t.same(r.replicaMismatches, [], 'replicas are byte-identical below the high watermark');
  t.same(r.violations, [], 'the fault\'s own expectations hold');
  // A fault that hits no partition expects no recovery (two brokers down); every other fault
  // strikes leaders it has found, so the number of assertions is the same on every run.
  for (const rec of c.recoveries) {
    if (rec.fault.partitions.length === 0) continue;
    t.ok(rec.ms !== null && rec.ms < RECOVERY_BOUND_MS,
      `${rec.fault.name} (${rec.fault.detail}): partitions ${rec.fault.partitions} take acks=all writes again within ${RECOVERY_BOUND_MS} ms (${rec.ms ?? 'never'} ms)`);
  }
}

/** The transactional rules, one assertion each, after the plain ones. */
export function assertTxnRun(t: Test, r: RunReport): void {
  assertRun(t, r);
  const x = r.txn;
  if (!x) throw new Error(`${r.name} was not a transactional run`);
  t.ok(x.committed > 0 && x.aborted > 0, `transactions committed (${x.committed}) and aborted (${x.aborted})`);
  t.same(x.missing, [], 'every committed transaction is visible to read_committed');
  t.same(x.partial, [], 'no transaction is partly visible to any reader');
  t.same(x.abortedSeen, [], 'no value of an aborted transaction is read');
  t.same(x.early, [], 'no value is read before its transaction\'s commit was sent');
  t.same(x.vanished, [], 'no transactional value read is gone from the final read');
  t.same(x.seenTwice, [], 'no reader reads a value twice');
  t.same(x.orderBroken, [], 'committed values come in produce order');
  t.same(x.lsoBack, [], 'no reader sees a last stable offset move backwards');
}
