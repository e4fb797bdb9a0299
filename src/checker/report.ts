/**
 * What a checker run found, the rules it must keep, and the summary: one row per run (one
 * fault kind each), in plain text columns; transactional runs add a row to a second table,
 * what their read_committed readers saw of the transactions.
 */
import { median, type CheckResult, type FaultEvent } from './history.js';
import type { TxnCheckResult } from './txn-history.js';

export interface RunReport {
  name: string;
  idempotent: boolean;
  result: CheckResult;
  /** The transactional checks, for a transactional run. */
  txn?: TxnCheckResult;
  /**
   * Partitions whose replicas differ below the high watermark ("partition p: broker a != broker
   * b at byte n"); null when the replicas' logs could not be read (a remote cluster).
   */
  replicaMismatches: string[] | null;
  faults: FaultEvent[];
  notes: string[];
  violations: string[];
  durationMs: number;
}

/** Everything in a report that breaks a rule (empty when the run passed). */
export function problems(r: RunReport): string[] {
  const out: string[] = [...r.violations, ...(r.replicaMismatches ?? [])];
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
  if (r.txn) out.push(...txnProblems(r.txn));
  return out;
}

function txnProblems(x: TxnCheckResult): string[] {
  const out: string[] = [];
  if (x.committed === 0) out.push('no transaction committed');
  if (x.missing.length) out.push(`${x.missing.length} committed transactions invisible to the final read_committed read: ${x.missing.slice(0, 5).map((m) => `${m.txn} (${m.values} values)`).join(', ')}`);
  if (x.partial.length) out.push(`${x.partial.length} transactions partly visible: ${x.partial.slice(0, 5).map((m) => `${m.txn} to ${m.observer} (${m.seen} of ${m.covered})`).join(', ')}`);
  if (x.abortedSeen.length) out.push(`${x.abortedSeen.length} values of aborted transactions read: ${x.abortedSeen.slice(0, 5).map((m) => `${m.value} (${m.txn}) by ${m.observer}`).join(', ')}`);
  if (x.early.length) out.push(`${x.early.length} values read before their transaction's commit was sent: ${x.early.slice(0, 5).map((m) => `${m.value} (${m.txn}) by ${m.observer} ${m.msBeforeCommit} ms before`).join(', ')}`);
  if (x.vanished.length) out.push(`${x.vanished.length} transactional values read, then absent from the final read: ${x.vanished.slice(0, 5).map((m) => `${m.value} by ${m.observer}`).join(', ')}`);
  if (x.seenTwice.length) out.push(`${x.seenTwice.length} values read twice by one reader: ${x.seenTwice.slice(0, 5).map((m) => `${m.value} x${m.times} by ${m.observer}`).join(', ')}`);
  if (x.orderBroken.length) out.push(`${x.orderBroken.length} committed values out of produce order: ${x.orderBroken.slice(0, 5).map((m) => `p${m.partition} ${m.value} after ${m.after} (${m.observer})`).join(', ')}`);
  if (x.lsoBack.length) out.push(`${x.lsoBack.length} last stable offset regressions: ${x.lsoBack.slice(0, 5).map((m) => `${m.observer} p${m.partition} ${m.from}(b${m.fromBroker})->${m.to}(b${m.toBroker})`).join(', ')}`);
  return out;
}

const COLUMNS = ['fault', 'idem', 'faults', 'attempted', 'acked', 'unknown', 'failed', 'final', 'lost', 'dup', 'conflicts', 'reorder', 'hw-back', 'replicas', 'recovery med/max ms', 'verdict'];

function recoveryCell(r: RunReport): string {
  const ms = r.result.recoveries.filter((x) => x.fault.partitions.length > 0).map((x) => x.ms);
  if (ms.length === 0) return '-';
  const done = ms.filter((x): x is number => x !== null);
  const missing = ms.length - done.length;
  const cell = done.length ? `${median(done).toFixed(0)}/${Math.max(...done).toFixed(0)}` : '-';
  return missing ? `${cell} (${missing} never)` : cell;
}

export function row(r: RunReport): string[] {
  const c = r.result;
  return [
    r.name,
    r.idempotent ? 'yes' : 'no',
    String(r.faults.length),
    String(c.attempted),
    String(c.acked),
    String(c.unknown),
    String(c.failed),
    String(c.finalRecords),
    String(c.lost.length),
    String(c.duplicated.length),
    String(c.conflicts.length),
    String(c.reordered.length),
    String(c.hwBack.length),
    r.replicaMismatches === null ? '-' : r.replicaMismatches.length ? `${r.replicaMismatches.length} differ` : 'identical',
    recoveryCell(r),
    problems(r).length ? 'FAIL' : 'ok',
  ];
}

const TXN_COLUMNS = ['fault', 'txns', 'committed', 'aborted', 'unknown', 'unknown seen', 'values seen', 'invisible', 'partial', 'aborted read', 'early', 'vanished', 'read twice', 'order', 'lso-back', 'verdict'];

export function txnRow(r: RunReport): string[] {
  const x = r.txn!;
  return [
    r.name,
    String(x.txns),
    String(x.committed),
    String(x.aborted),
    String(x.unknown),
    String(x.unknownVisible),
    `${x.committedSeen}/${x.committedValues}`,
    String(x.missing.length),
    String(x.partial.length),
    String(x.abortedSeen.length),
    String(x.early.length),
    String(x.vanished.length),
    String(x.seenTwice.length),
    String(x.orderBroken.length),
    String(x.lsoBack.length),
    txnProblems(x).length ? 'FAIL' : 'ok',
  ];
}

function table(columns: string[], rows: string[][]): string {
  const all = [columns, ...rows];
  const widths = columns.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
}

export function summaryTable(reports: RunReport[]): string {
  return table(COLUMNS, reports.map(row));
}

/** What the read_committed readers saw of the transactions, one row per transactional run. */
export function txnTable(reports: RunReport[]): string {
  return table(TXN_COLUMNS, reports.filter((r) => r.txn).map(txnRow));
}

/** The table (and the transactions' table), then each run's notes and problems. */
export function fullReport(reports: RunReport[]): string {
  const lines = [summaryTable(reports)];
  if (reports.some((r) => r.txn)) lines.push('', 'transactions, as read_committed readers saw them:', txnTable(reports));
  for (const r of reports) {
    const p = problems(r);
    if (r.notes.length === 0 && p.length === 0) continue;
    lines.push(`\n${r.name}:`);
    for (const n of r.notes) lines.push(`  note: ${n}`);
    for (const x of p) lines.push(`  PROBLEM: ${x}`);
  }
  return lines.join('\n');
}

/**
 * The failover figure of a run: per fault, ms from the fault to the first acks=all
 * acknowledgement on the slowest partition it hit; median, max and each.
 */
export function failoverSummary(r: RunReport, what: string): string {
  const all = r.result.recoveries.filter((x) => x.fault.partitions.length > 0);
  const ms = all.map((x) => x.ms).filter((x): x is number => x !== null);
  const head = `failover, ${what} (slowest partition), ${ms.length} of ${all.length} faults:`;
  if (!ms.length) return head;
  return `${head}\n  median ${median(ms).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms; each: ${ms.map((x) => x.toFixed(0)).join(' ')}`;
}
