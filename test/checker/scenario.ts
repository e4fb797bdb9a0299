/**
 * One checker run: a fresh three-broker cluster, one replicated topic, the workload running
 * for a warm-up, one fault, a settle period, then the end-of-run reads:
 *   1. the final read of every partition from its leader, up to the high watermark;
 *   2. every broker killed, and each replica's log read from disk below that high watermark,
 *      which must be byte-identical on all three (and counts as one more observer).
 * The history then goes through check() (history.ts).
 */
import { CheckerCluster, sleep } from './cluster.js';
import type { Fault, FaultContext } from './faults.js';
import { check, type CheckResult, type FaultEvent } from './history.js';
import { readReplicaLog } from './replica-logs.js';
import { Workload } from './workload.js';

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
}

export interface RunReport {
  name: string;
  idempotent: boolean;
  result: CheckResult;
  /** Partitions whose replicas differ below the high watermark: "partition p: broker a != broker b at byte n". */
  replicaMismatches: string[];
  faults: FaultEvent[];
  notes: string[];
  violations: string[];
  durationMs: number;
}

const FINAL = 'final-read';

export async function runScenario(name: string, fault: Fault, opts: ScenarioOptions = {}): Promise<RunReport> {
  const started = Date.now();
  const partitions = opts.partitions ?? 3;
  const topic = `checker-${name}`;
  const cluster = await CheckerCluster.start(opts.settings ?? {}, opts.direct);
  try {
    await cluster.createTopic(topic, partitions);
    const workload = new Workload(cluster, { topic, partitions, idempotent: opts.idempotent, tag: name });
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
    return { name, idempotent: !!opts.idempotent, result, replicaMismatches, faults: ctx.faults, notes: ctx.notes, violations: ctx.violations, durationMs: Date.now() - started };
  } catch (e) {
    opts.onError?.(cluster.output());
    throw e;
  } finally {
    cluster.cleanup();
  }
}

/** Everything in a report that breaks a rule (empty when the run passed). */
export function problems(r: RunReport): string[] {
  const out: string[] = [...r.violations, ...r.replicaMismatches];
  const c = r.result;
  if (c.lost.length) out.push(`${c.lost.length} acknowledged acks=all values lost: ${c.lost.slice(0, 10).join(', ')}`);
  if (c.duplicated.length) out.push(`${c.duplicated.length} values at two offsets: ${c.duplicated.slice(0, 5).map((d) => `${d.value}@${d.offsets}`).join(', ')}`);
  if (c.conflicts.length) out.push(`${c.conflicts.length} offsets with two values: ${c.conflicts.slice(0, 5).map((x) => `p${x.partition}@${x.offset}=${x.values.join('|')}`).join(', ')}`);
  if (c.reordered.length) out.push(`${c.reordered.length} order disagreements: ${c.reordered.slice(0, 5).map((x) => `${x.a}/${x.b} p${x.partition} ${x.value}`).join(', ')}`);
  if (c.hwBack.length) out.push(`${c.hwBack.length} high watermark regressions: ${c.hwBack.slice(0, 5).map((x) => `${x.observer} p${x.partition} ${x.from}(b${x.fromBroker})->${x.to}(b${x.toBroker})`).join(', ')}`);
  if (c.unexpected.length) out.push(`${c.unexpected.length} values read that were never written: ${c.unexpected.slice(0, 5).join(', ')}`);
  for (const rec of c.recoveries) {
    if (rec.fault.partitions.length > 0 && rec.ms === null) out.push(`${rec.fault.name} (${rec.fault.detail}): partitions ${rec.fault.partitions} never took an acks=all write again`);
  }
  return out;
}
