/**
 * One checker run against a running cluster reached by its bootstrap addresses: the topic
 * made if it is missing, the workload running for a warm-up, one fault kind struck by the
 * caller's commands, a settle period, the final read of every partition from its leader up to
 * the high watermark (in a transactional run first a read_committed one, once no transaction is
 * open), then the checks over the history.
 */
import { ErrorCode } from '../shared/errors.js';
import { BrokerLinks, type Address } from './client.js';
import { runCommandFault, type CommandFault, type CommandFaultOptions } from './command-faults.js';
import { awaitFullIsr, sleep, type FaultLog } from './faults.js';
import { check } from './history.js';
import { checkTransactions } from './txn-history.js';
import { MetadataView } from './metadata.js';
import type { RunReport } from './report.js';
import { Workload, type WorkloadOptions } from './workload.js';

export interface ClusterRunOptions extends CommandFaultOptions {
  bootstrap: Address[];
  topic: string;
  partitions: number;
  idempotent: boolean;
  warmupMs: number;
  settleMs: number;
  workload?: Partial<WorkloadOptions>;
}

const FINAL = 'final-read';
const FINAL_COMMITTED = 'final-committed';

/** Creates `topic` unless a broker already knows it (replication factor: up to 3), then waits for a full ISR. */
export async function ensureTopic(bootstrap: Address[], topic: string, partitions: number): Promise<void> {
  const links = new BrokerLinks('checker-admin');
  try {
    const view = new MetadataView(bootstrap, topic, links);
    await view.refresh();
    if (view.partitions().length === 0) {
      const rf = Math.max(1, Math.min(3, view.brokerIds().length));
      let created = false;
      for (const address of bootstrap) {
        const r = await links.createTopic(address, topic, partitions, rf);
        if (r.kind === 'ok' || (r.kind === 'error' && r.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS)) {
          created = true;
          break;
        }
      }
      if (!created) throw new Error(`no broker of ${bootstrap} created topic ${topic}`);
    }
    await awaitFullIsr(view, 60_000);
  } finally {
    links.close();
  }
}

export async function runAgainstCluster(fault: CommandFault, o: ClusterRunOptions): Promise<RunReport> {
  const started = Date.now();
  const tag = `${fault}-${started.toString(36)}`;
  const workload = new Workload({ ...o.workload, bootstrap: o.bootstrap, topic: o.topic, partitions: o.partitions, idempotent: o.idempotent, tag });
  await workload.start();
  const log: FaultLog = { workload, faults: [], notes: [], violations: [] };
  try {
    await sleep(o.warmupMs);
    await runCommandFault(fault, log, o);
    await sleep(o.settleMs);
  } finally {
    await workload.stop();
  }
  await awaitFullIsr(workload.view, o.isrBoundMs);
  if (o.workload?.transactional) await workload.readAllCommitted(FINAL_COMMITTED);
  await workload.readAll(FINAL);
  const result = check({ writes: workload.writes, reads: workload.reads, hws: workload.hws, faults: log.faults, finalObserver: FINAL });
  const txn = o.workload?.transactional ? checkTransactions(workload.txnHistory(FINAL_COMMITTED)) : undefined;
  return { name: fault, idempotent: o.idempotent, result, txn, replicaMismatches: null, faults: log.faults, notes: log.notes, violations: log.violations, durationMs: Date.now() - started };
}
