/**
 * Latency against percentile as an SVG line chart, one line per series: the usual HDR
 * histogram plot. x is log10(1 / (1 - p)), so 90%, 99%, 99.9% ... sit one step apart;
 * y is the latency in milliseconds on a log scale.
 */
import type { Histogram } from 'hdr-histogram-js';

export interface PlotSeries {
  label: string;
  histogram: Histogram;
}

const W = 760;
const H = 440;
const M = { left: 70, right: 190, top: 40, bottom: 50 };
const MAX_NINES = 5;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** (nines, latency ms) points: nines = log10(1 / (1 - p)). */
export function percentileCurve(h: Histogram): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  for (let i = 0; i <= MAX_NINES * 20; i++) {
    const nines = i / 20;
    const p = 100 * (1 - 10 ** -nines);
    pts.push([nines, Math.max(h.getValueAtPercentile(p), 1) / 1000]);
  }
  return pts;
}

export function latencyPlotSvg(title: string, series: PlotSeries[]): string {
  const curves = series.map((s) => ({ label: s.label, pts: percentileCurve(s.histogram) }));
  const all = curves.flatMap((c) => c.pts.map((p) => p[1]));
  const lo = Math.floor(Math.log10(Math.min(...all, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...all, 1))));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (nines: number) => M.left + (nines / MAX_NINES) * pw;
  const y = (ms: number) => M.top + ph - ((Math.log10(ms) - lo) / (hi - lo)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  const labels = ['0%', '90%', '99%', '99.9%', '99.99%', '99.999%'];
  for (let n = 0; n <= MAX_NINES; n++) {
    out.push(`<line x1="${x(n)}" y1="${M.top}" x2="${x(n)}" y2="${M.top + ph}" stroke="#ddd"/>`);
    out.push(`<text x="${x(n)}" y="${M.top + ph + 18}" text-anchor="middle">${labels[n]}</text>`);
  }
  for (let d = lo; d <= hi; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${v >= 1 ? v : v.toPrecision(1)} ms</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">percentile</text>`);
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    const d = c.pts.map(([n, ms], j) => `${j === 0 ? 'M' : 'L'}${x(n).toFixed(1)},${y(ms).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${M.left + pw + 12}" y1="${ly}" x2="${M.left + pw + 32}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${M.left + pw + 38}" y="${ly + 4}">${esc(c.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
