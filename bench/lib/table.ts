/** Tables as aligned plain text (terminal) and as Markdown (RESULTS.md). */

export type Cell = string | number | null;

function text(c: Cell): string {
  if (c === null) return '-';
  return typeof c === 'number' ? fmt(c) : c;
}

/** Numbers with sensible precision: 3 significant digits below 100, integers above. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en-US');
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(2);
}

export function plainTable(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(text))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], i: number) => r.map((c, j) => (j === 0 || i === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ');
  return cells.map(line).join('\n');
}

export function markdownTable(headers: string[], rows: Cell[][]): string {
  const out = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) out.push(`| ${r.map(text).join(' | ')} |`);
  return out.join('\n');
}
