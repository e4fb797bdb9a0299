/**
 * Kafka's checkpoint text format, used for `recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint` (entries `topic partition offset`) and the per-partition
 * `leader-epoch-checkpoint` (entries `epoch startOffset`):
 *
 *   0          <- format version
 *   2          <- entry count
 *   orders 0 42
 *   orders 1 17
 *
 * Written whole to `<file>.tmp`, fsynced, renamed over the file, then the directory is
 * fsynced, so a crash leaves either the old or the new file, never a mix.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

const VERSION = 0;
/** A checkpoint lock older than this belongs to a writer that died. */
const STALE_LOCK_MS = 10_000;

/**
 * Entries (each a list of space-separated fields), or undefined when missing or malformed.
 * Read synchronously: the files are small and in the page cache, and a start reads one per
 * partition, where a promise-based read (open, fstat, read, close: four thread-pool round
 * trips and a FileHandle) cost more than the read itself.
 */
export function readCheckpoint(file: string): string[][] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines.length < 2 || Number(lines[0]) !== VERSION) return undefined;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || lines.length !== count + 2) return undefined;
  return lines.slice(2).map((l) => l.split(' '));
}

export async function writeCheckpoint(file: string, entries: ReadonlyArray<ReadonlyArray<string | number>>): Promise<void> {
  const body = [String(VERSION), String(entries.length), ...entries.map((e) => e.join(' '))].join('\n') + '\n';
  await replaceFileDurably(file, body);
}

/** Replaces `file` whole or not at all: a temp file, fsynced, renamed over it, the dir fsynced. */
export async function replaceFileDurably(file: string, data: string | Buffer): Promise<void> {
  await replaceFile(file, data, true);
}

/**
 * Replaces `file` whole through a temp file renamed over it; `durable` adds the fsyncs of the
 * file and of its dir. Without them a crash of the machine may leave the old file, or a new
 * one of the right name with partial contents: only for files checked on reading.
 */
export async function replaceFile(file: string, data: string | Buffer, durable: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (durable) await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
  if (durable) await syncDir(path.dirname(file));
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces the entries that `mine` claims with `entries` and keeps the rest: several log
 * managers (one per partition worker) share a log dir and its checkpoint files, each owning
 * some partitions. The read-modify-write runs under an O_EXCL `<file>.lock` so that
 * concurrent updates do not drop each other's entries.
 */
export async function updateCheckpoint(
  file: string,
  mine: (entry: string[]) => boolean,
  entries: ReadonlyArray<ReadonlyArray<string | number>>,
): Promise<void> {
  const lockFile = `${file}.lock`;
  let lock: fs.FileHandle | undefined;
  while (!lock) {
    try {
      lock = await fs.open(lockFile, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fs.stat(lockFile).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) await fs.rm(lockFile, { force: true });
      else await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
    }
  }
  try {
    const kept = (readCheckpoint(file) ?? []).filter((e) => !mine(e));
    await writeCheckpoint(file, [...kept, ...entries]);
  } finally {
    await lock.close();
    await fs.rm(lockFile, { force: true });
  }
}
