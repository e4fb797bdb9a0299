import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { buildRecordBatch } from '../../src/shared/record-batch.js';
import { defaultLogConfig, type LogConfig } from '../../src/shared/log-config.js';

export const silent = pino({ level: 'silent' });

export function tmpDir(t: { teardown(fn: () => void): void }, name = 'log'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `storage-${name}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...defaultLogConfig, retentionCheckIntervalMs: 3_600_000, ...overrides };
}

/** A batch of `count` records of `size` value bytes; record i has timestamp `ts + i`. */
export function batch(count: number, size: number, ts = Date.now(), seed = 0): Buffer {
  return buildRecordBatch({
    firstTimestamp: ts,
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`k${seed}-${i}`),
      value: Buffer.alloc(size, (seed + i) & 0xff),
      timestampDelta: i,
    })),
  });
}

/** Splits a buffer of whole batches into [baseOffset, bytes] pairs. */
export function splitBatches(buf: Buffer): Array<{ baseOffset: number; lastOffset: number; bytes: Buffer }> {
  const out = [];
  let p = 0;
  while (p + 12 <= buf.length) {
    const len = 12 + buf.readInt32BE(p + 8);
    const baseOffset = Number(buf.readBigInt64BE(p));
    out.push({ baseOffset, lastOffset: baseOffset + buf.readInt32BE(p + 23), bytes: buf.subarray(p, p + len) });
    p += len;
  }
  return out;
}

export interface TapLike {
  passing(): boolean;
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
}

/**
 * Mounts a tmpfs with `options` (`mount -o`, root only) on a new temp dir, unmounted at
 * teardown; the mount's error when it fails.
 */
export function mountTmpfs(t: TapLike, options: string): { dir: string } | { error: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(dir);
    return { error: String((err as { stderr?: Buffer }).stderr ?? err).trim() };
  }
  t.teardown(() => {
    execFileSync('umount', [dir]);
    fs.rmdirSync(dir);
  });
  return { dir };
}
