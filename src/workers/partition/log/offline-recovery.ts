/**
 * How a log that a disk error took offline comes back without a restart, as a state machine
 * with no I/O and no clock (offline-recovery-runner.ts drives it with timers and the disk):
 *
 *   online --failed--> offline --due--> probing --ok--> recovering --ok--> online
 *                        ^                 |                 |
 *                        +------fail-------+------fail-------+
 *
 * Offline, the log waits. When the wait is over, a probe write in the log's dir checks that
 * the file system takes writes again (space freed after ENOSPC, a device back after EIO);
 * then the log's tail is checked as after a crash and the log reopens. Each failed probe or
 * recovery doubles the wait up to a cap, so a disk that stays broken costs one small write
 * every few seconds and no log noise.
 *
 * A failure reported while the log is being probed or recovered is not an event here: the
 * runner reports the recovery's outcome, which covers it.
 */

export type RecoveryState = 'online' | 'offline' | 'probing' | 'recovering';

/** What the runner does next. */
export type RecoveryStep =
  /** Arm a timer; call `due()` when it fires. */
  | { kind: 'wait'; ms: number }
  /** Write a probe in the log's dir; report with `probed(ok)`. */
  | { kind: 'probe' }
  /** Check the log's tail and reopen it; report with `recovered(ok)`. */
  | { kind: 'recover' }
  /** The log is back; `attempts` probes were made since it went offline. */
  | { kind: 'online'; attempts: number }
  /** Nothing: the event does not apply in this state. */
  | { kind: 'none' };

export interface RecoveryDelays {
  /** Wait before the first probe. */
  firstProbeMs: number;
  /** Longest wait between two probes. */
  maxProbeMs: number;
}

const NONE: RecoveryStep = { kind: 'none' };

export class OfflineRecovery {
  private current: RecoveryState = 'online';
  private waitMs: number;
  private probes = 0;

  constructor(private readonly delays: RecoveryDelays) {
    this.waitMs = delays.firstProbeMs;
  }

  get state(): RecoveryState {
    return this.current;
  }

  /** The log went offline. */
  failed(): RecoveryStep {
    if (this.current !== 'online') return NONE;
    this.current = 'offline';
    this.probes = 0;
    this.waitMs = this.delays.firstProbeMs;
    return { kind: 'wait', ms: this.waitMs };
  }

  /** The wait is over. */
  due(): RecoveryStep {
    if (this.current !== 'offline') return NONE;
    this.current = 'probing';
    this.probes++;
    return { kind: 'probe' };
  }

  probed(ok: boolean): RecoveryStep {
    if (this.current !== 'probing') return NONE;
    if (!ok) return this.backOff();
    this.current = 'recovering';
    return { kind: 'recover' };
  }

  recovered(ok: boolean): RecoveryStep {
    if (this.current !== 'recovering') return NONE;
    if (!ok) return this.backOff();
    this.current = 'online';
    return { kind: 'online', attempts: this.probes };
  }

  private backOff(): RecoveryStep {
    this.current = 'offline';
    this.waitMs = Math.min(this.waitMs * 2, this.delays.maxProbeMs);
    return { kind: 'wait', ms: this.waitMs };
  }
}
