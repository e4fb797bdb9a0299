/**
 * The election timeout counted in ticks. A follower or candidate campaigns when it runs out;
 * a leader uses the same count as its check-quorum round; and while a node heard from a
 * leader less than one election timeout ago it is within that leader's lease.
 */
import type { Random } from './prng.js';

export class ElectionTimer {
  /** Ticks since the node last heard from a leader, granted a vote or changed role. */
  private elapsed = 0;
  private timeout = 0;

  constructor(
    private readonly electionTicks: number,
    private readonly random: Random,
  ) {}

  /** Starts counting afresh towards a newly drawn timeout. */
  restart(): void {
    this.elapsed = 0;
    this.timeout = this.draw();
  }

  /** A leader was heard from or a vote granted: the count starts again, the timeout stays. */
  heard(): void {
    this.elapsed = 0;
  }

  /** One tick for a follower or candidate; true when the election timeout ran out (the count restarts). */
  tick(): boolean {
    this.elapsed++;
    if (this.elapsed < this.timeout) return false;
    this.elapsed = 0;
    return true;
  }

  /** One tick for a leader; true when a check-quorum round is due (every election timeout, not randomized). */
  tickRound(): boolean {
    this.elapsed++;
    if (this.elapsed < this.electionTicks) return false;
    this.elapsed = 0;
    return true;
  }

  /** Less than one (unrandomized) election timeout since the count last started. */
  withinTimeout(): boolean {
    return this.elapsed < this.electionTicks;
  }

  /**
   * A timeout in [electionTicks + 2, 2 * electionTicks). Voters refuse a pre-vote while they
   * heard from a leader less than electionTicks ago, and the nodes' ticks are not in phase: a
   * candidate that fired at exactly electionTicks could meet a voter one tick short and lose a
   * whole extra timeout. Two ticks of margin keep a failover within two election timeouts.
   */
  private draw(): number {
    const margin = Math.min(2, this.electionTicks - 1);
    return this.electionTicks + margin + this.random.int(this.electionTicks - margin);
  }
}
