/**
 * What every fault of a checker run shares, whoever injects it (the in-process cluster of the
 * tests, or commands against any cluster): the log it writes (when each fault struck and which
 * partitions it hit, for the recovery figures; what it saw; the expectations it found broken
 * that the history alone cannot show), and the waits between its steps.
 */
import type { FaultEvent } from './history.js';
import type { MetadataView } from './metadata.js';
import type { Workload } from './workload.js';

export interface FaultLog {
  workload: Workload;
  faults: FaultEvent[];
  notes: string[];
  violations: string[];
}

/** How long a fault may leave its partitions without an acks=all acknowledgement by default. */
export const RECOVERY_BOUND_MS = 15_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function strike(log: FaultLog, name: string, partitions: number[], detail: string): FaultEvent {
  const e: FaultEvent = { name, at: Date.now(), partitions, detail };
  log.faults.push(e);
  return e;
}

/** Waits until each partition has an acks=all acknowledgement of a request sent after `since`. */
export async function awaitAcks(log: FaultLog, partitions: number[], since: number, boundMs: number): Promise<boolean> {
  const deadline = since + boundMs;
  while (Date.now() < deadline) {
    if (partitions.every((p) => log.workload.ackedSince(p, since))) return true;
    await sleep(50);
  }
  return false;
}

/**
 * Waits until the metadata a broker gives names a leader and a full ISR for every partition;
 * throws after `timeoutMs`.
 */
export async function awaitFullIsr(view: MetadataView, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    await view.refresh();
    const ps = view.partitions();
    if (ps.length > 0 && ps.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length)) return;
    last = ps.map((p) => `${p.partition}:L${p.leader}e${p.leaderEpoch}[${p.isr}]`).join(' ');
    await sleep(200);
  }
  throw new Error(`ISR not full within ${timeoutMs} ms: ${last}`);
}
