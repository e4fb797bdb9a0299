/**
 * The disk's own fsync cost, beside a bench's figures: a raw 4 KiB write + fdatasync, `count`
 * times, in a fresh file under `dir` (removed afterwards). p50 and p99 in ms.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export function fsyncProbe(dir: string, count: number): { p50: number; p99: number } {
  const d = mkdtempSync(path.join(dir, 'fsync-probe-'));
  const fd = openSync(path.join(d, 'probe'), 'w');
  const block = Buffer.alloc(4096, 7);
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      samples.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(d, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99) };
}
