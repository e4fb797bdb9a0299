import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

/**
 * How logs are written: LOG_FORMAT=json|pretty, else pretty when stdout is a terminal and JSON
 * otherwise. Worker threads write through the main thread's stdout and cannot see the
 * terminal: the main thread's choice reaches them through the environment they are started
 * with.
 */
function logFormat(): LogFormat {
  const asked = process.env.LOG_FORMAT;
  if (asked === 'json' || asked === 'pretty') return asked;
  const format: LogFormat = isMainThread && process.stdout.isTTY ? 'pretty' : 'json';
  if (isMainThread) process.env.LOG_FORMAT = format;
  return format;
}

/** One line per entry, time and level first, for a person at a terminal; null without pino-pretty. */
function prettyStream(): DestinationStream | null {
  try {
    const pretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => DestinationStream;
    return pretty({ singleLine: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
  } catch {
    return null;
  }
}

function createRoot(): Logger {
  const options = { level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } };
  if (logFormat() === 'json') return pino(options);
  const stream = prettyStream();
  if (stream) return pino(options, stream);
  const root = pino(options);
  if (isMainThread) root.warn('LOG_FORMAT=pretty needs the pino-pretty package: logging JSON');
  return root;
}

/**
 * One root logger per thread. Workers name themselves through `child({ thread })`.
 * LOG_LEVEL overrides the level; the hot path logs at debug or below only.
 */
export const rootLogger: Logger = createRoot();

export function childLogger(bindings: Record<string, unknown>): Logger {
  return rootLogger.child(bindings);
}
