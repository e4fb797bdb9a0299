/**
 * Drives one OfflineRecovery (offline-recovery.ts) per offline log of a LogManager: arms its
 * timers, runs its probe writes and recoveries, and says when a log is back. The probe and
 * the recovery themselves are passed in (the manager's: a write in the log's dir, then
 * reopenOfflineLog from log-recovery.ts).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../../shared/logger.js';
import { OfflineRecovery, type RecoveryDelays, type RecoveryStep } from './offline-recovery.js';
import type { PartitionLog } from './partition-log.js';

export interface RecoveryActions {
  /** Resolves when the log's file system takes a write again. */
  probe(log: PartitionLog): Promise<void>;
  /** Checks the log's tail and brings it back online. */
  recover(log: PartitionLog): Promise<void>;
}

/** Probes start half a second after the failure and back off to one every five seconds. */
export const DEFAULT_RECOVERY_DELAYS: RecoveryDelays = { firstProbeMs: 500, maxProbeMs: 5000 };

const PROBE_FILE = '.write-probe';
/**
 * A probe writes this much: enough to span a few file-system blocks, so a disk with only a
 * block or two freed does not pass; an append larger than what is free then simply takes the
 * log offline again.
 */
const PROBE_BYTES = 64 * 1024;

/** Writes, fdatasyncs and removes a small file in `dir`. */
export async function probeWrite(dir: string): Promise<void> {
  const file = path.join(dir, PROBE_FILE);
  const fh = await fs.open(file, 'w');
  try {
    await fh.writeFile(Buffer.alloc(PROBE_BYTES));
    await fh.datasync();
  } finally {
    await fh.close();
    await fs.rm(file, { force: true });
  }
}

interface Tracked {
  machine: OfflineRecovery;
  timer: NodeJS.Timeout | undefined;
  /** The probe or recovery under way. */
  busy: Promise<void> | undefined;
}

export class OfflineRecoveryRunner {
  private readonly tracked = new Map<PartitionLog, Tracked>();
  private closed = false;

  constructor(
    private readonly actions: RecoveryActions,
    private readonly logger: Logger,
    /** Runs once a log is back online. */
    private readonly online: (log: PartitionLog) => void,
    private readonly delays: RecoveryDelays = DEFAULT_RECOVERY_DELAYS,
  ) {}

  /** The log went offline: recovery starts (nothing happens if it is already under way). */
  offline(log: PartitionLog): void {
    if (this.closed) return;
    let t = this.tracked.get(log);
    if (!t) this.tracked.set(log, (t = { machine: new OfflineRecovery(this.delays), timer: undefined, busy: undefined }));
    this.run(log, t, t.machine.failed());
  }

  /** Stops recovering `log` (it is being deleted); resolves once its probe or recovery is over. */
  async forget(log: PartitionLog): Promise<void> {
    const t = this.tracked.get(log);
    if (!t) return;
    this.tracked.delete(log);
    clearTimeout(t.timer);
    await t.busy;
  }

  /** Stops every recovery; resolves once none touches the disk any more. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.tracked.keys()].map((log) => this.forget(log)));
  }

  private run(log: PartitionLog, t: Tracked, step: RecoveryStep): void {
    if (this.tracked.get(log) !== t) return;
    switch (step.kind) {
      case 'wait':
        t.timer = setTimeout(() => {
          t.timer = undefined;
          this.run(log, t, t.machine.due());
        }, step.ms);
        t.timer.unref();
        return;
      case 'probe':
        t.busy = this.actions.probe(log).then(
          () => this.run(log, t, t.machine.probed(true)),
          (err: unknown) => {
            this.logger.debug({ err, log: log.name }, 'offline log: probe write failed');
            this.run(log, t, t.machine.probed(false));
          },
        );
        return;
      case 'recover':
        t.busy = this.actions.recover(log).then(
          // A new failure between the reopening and this answer leaves the log offline.
          () => this.run(log, t, t.machine.recovered(!log.offline)),
          (err: unknown) => {
            this.logger.warn({ err, log: log.name }, 'offline log: recovery failed, will probe again');
            this.run(log, t, t.machine.recovered(false));
          },
        );
        return;
      case 'online':
        this.tracked.delete(log);
        this.logger.info({ log: log.name, probes: step.attempts, logEndOffset: log.logEndOffset }, 'log back online after a disk error');
        this.online(log);
        return;
      case 'none':
        return;
    }
  }
}
