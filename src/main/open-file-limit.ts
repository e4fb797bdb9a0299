/**
 * The process's open-file limit (RLIMIT_NOFILE) and how the broker shares it out.
 *
 * The soft limit is raised to the hard one, as servers commonly do. Node itself does so when
 * it starts, unless the embedder turned that off; when the soft limit is still lower, the
 * broker raises it with prlimit(1) on its own pid (Node has no setrlimit). This runs on the
 * main thread before the worker threads start: they share the process's limit.
 *
 * The partition workers' file caches (file-cache.ts) divide what a reserve leaves: the
 * reserve is for everything else that takes descriptors, i.e. client and replication sockets,
 * the raft worker's metadata log and sockets, the data-dir lock, Node's own (epoll, pipes,
 * stdio) and the short-lived descriptors of log loading (index, epoch and snapshot reads).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Logger } from '../shared/logger.js';

export interface OpenFileLimits {
  soft: number;
  hard: number;
}

/** A quarter of the limit, and at least this many, stays out of the file caches. */
const MIN_RESERVE = 256;
/** A partition worker's cache never gets fewer descriptors than this. */
const MIN_PER_WORKER = 16;

/** The "Max open files" line of /proc/<pid>/limits ("unlimited" is Infinity). */
export function parseOpenFileLimits(text: string): OpenFileLimits | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) return undefined;
  const value = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}

export function readOpenFileLimits(): OpenFileLimits | undefined {
  try {
    return parseOpenFileLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Raises the soft limit to the hard one when it is lower; returns the limits in effect. */
export function raiseOpenFileLimit(logger: Logger): OpenFileLimits | undefined {
  const before = readOpenFileLimits();
  if (!before || before.soft >= before.hard) return before;
  const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: 'ignore', timeout: 5000 });
  } catch (err) {
    logger.info({ soft: before.soft, hard: before.hard, err: (err as Error).message }, 'open-file limit not raised (prlimit failed); the soft limit stays');
    return before;
  }
  const after = readOpenFileLimits() ?? before;
  logger.info({ from: before.soft, to: after.soft }, 'raised the open-file soft limit to the hard limit');
  return after;
}

/** Descriptors each of `workers` partition workers may keep open for its log files. */
export function logFileBudget(softLimit: number, workers: number): number {
  const limit = Number.isFinite(softLimit) ? softLimit : 1 << 20;
  const reserve = Math.max(MIN_RESERVE, Math.floor(limit / 4));
  return Math.max(MIN_PER_WORKER, Math.floor((limit - reserve) / Math.max(1, workers)));
}
