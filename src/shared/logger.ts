import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One root logger per thread. Workers name themselves through `child({ thread })`.
 * LOG_LEVEL overrides the level; the hot path logs at debug or below only.
 */
export const rootLogger: Logger = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
});

export function childLogger(bindings: Record<string, unknown>): Logger {
  return rootLogger.child(bindings);
}
