/**
 * One checker run: a fresh three-broker cluster, one replicated topic, the workload running
 * for a warm-up, one fault, a settle period, then the end-of-run reads:
 *   1. the final read of every partition from its leader, up to the high watermark (in a
 *      transactional run first a read_committed one, once no transaction is open);
 *   2. every broker killed, and each replica's log read from disk below that high watermark,
 *      which must be byte-identical on all three (and counts as one more observer).
 * The history then goes through check() (history.ts), and a transactional run's also through
 * checkTransactions() (txn-history.ts).
 */
import { check } from '../../src/checker/history.js';
import { checkTransactions } from '../../src/checker/txn-history.js';
import type { RunReport } from '../../src/checker/report.js';
import { Workload, type WorkloadOptions } from '../../src/checker/workload.js';
import { CheckerCluster, sleep } from './cluster.js';
import type { Fault, FaultContext } from './faults.js';
import { readReplicaLog } from './replica-logs.js';

export interface ScenarioOptions {
  partitions?: number;
  warmupMs?: number;
  settleMs?: number;
  idempotent?: boolean;
  /** Brokers connect to each other directly, not through the fault proxies. */
  direct?: boolean;
  /** Called with the cluster's combined output when a run throws (for the test log). */
  onError?: (output: string) => void;
  /** Broker settings over CHECKER_SETTINGS. */
  settings?: Record<string, string | number>;
  /** Workload settings over the defaults (batch size, requests in flight). */
  workload?: Partial<WorkloadOptions>;
}

const FINAL = 'final-read';
const FINAL_COMMITTED = 'final-committed';

export async function runScenario(name: string, fault: Fault, opts: ScenarioOptions = {}): Promise<RunReport> {
  const started = Date.now();
  const partitions = opts.partitions ?? 3;
  const topic = `checker-${name}`;
  const cluster = await CheckerCluster.start(opts.settings ?? {}, opts.direct);
  try {
    await cluster.createTopic(topic, partitions);
    const workload = new Workload({ ...opts.workload, bootstrap: cluster.bootstrap(), topic, partitions, idempotent: opts.idempotent, tag: name });
    await workload.start();
    await sleep(opts.warmupMs ?? 2000);
    const ctx: FaultContext = { cluster, workload, topic, partitions, faults: [], notes: [], violations: [] };
    try {
      await fault(ctx);
      await sleep(opts.settleMs ?? 2000);
    } finally {
      await workload.stop();
    }
    await cluster.waitFullIsr(topic, 30_000);
    if (opts.workload?.transactional) await workload.readAllCommitted(FINAL_COMMITTED);
    const hws = await workload.readAll(FINAL);
    await Promise.all(cluster.brokers.map((b) => b.kill('SIGKILL')));
    const replicaMismatches: string[] = [];
    for (let p = 0; p < partitions; p++) {
      const hw = hws.get(p)!;
      const logs = cluster.brokers.map((b) => ({ id: b.nodeId, log: readReplicaLog(b.dataDir, topic, p, hw) }));
      for (const { id, log } of logs) {
        for (const r of log.records) workload.reads.push({ observer: `disk-${id}`, partition: p, offset: r.offset, value: r.value?.toString() ?? '' });
      }
      const ref = logs[0]!;
      for (const other of logs.slice(1)) {
        if (ref.log.bytes.equals(other.log.bytes)) continue;
        const n = Math.min(ref.log.bytes.length, other.log.bytes.length);
        let at = 0;
        while (at < n && ref.log.bytes[at] === other.log.bytes[at]) at++;
        replicaMismatches.push(`partition ${p} below hw ${hw}: broker ${ref.id} (${ref.log.bytes.length} B) != broker ${other.id} (${other.log.bytes.length} B) from byte ${at}`);
      }
    }
    const result = check({ writes: workload.writes, reads: workload.reads, hws: workload.hws, faults: ctx.faults, finalObserver: FINAL });
    const txn = opts.workload?.transactional ? checkTransactions(workload.txnHistory(FINAL_COMMITTED)) : undefined;
    return { name, idempotent: !!opts.idempotent, result, txn, replicaMismatches, faults: ctx.faults, notes: ctx.notes, violations: ctx.violations, durationMs: Date.now() - started };
  } catch (e) {
    opts.onError?.(cluster.output());
    throw e;
  } finally {
    cluster.cleanup();
  }
}
