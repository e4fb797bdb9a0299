/**
 * The checker's summary: one row per run (one fault each), in plain text columns.
 */
import { median } from './history.js';
import { problems, type RunReport } from './scenario.js';

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
    r.replicaMismatches.length ? `${r.replicaMismatches.length} differ` : 'identical',
    recoveryCell(r),
    problems(r).length ? 'FAIL' : 'ok',
  ];
}

export function summaryTable(reports: RunReport[]): string {
  const rows = [COLUMNS, ...reports.map(row)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padStart(widths[i]!)).join('  ')).join('\n');
}

/** The table, then each run's notes and problems. */
export function fullReport(reports: RunReport[]): string {
  const lines = [summaryTable(reports)];
  for (const r of reports) {
    const p = problems(r);
    if (r.notes.length === 0 && p.length === 0) continue;
    lines.push(`\n${r.name}:`);
    for (const n of r.notes) lines.push(`  note: ${n}`);
    for (const x of p) lines.push(`  PROBLEM: ${x}`);
  }
  return lines.join('\n');
}
