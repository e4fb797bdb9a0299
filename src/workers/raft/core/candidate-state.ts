/**
 * One election from the candidate's side (Kafka's CandidateState): the answers its
 * (pre-)vote requests got and whether they add up to a win or a loss. A pre-vote round
 * and the real election that follows it are two of these; neither outlives its round.
 */
import { MessageType } from './types.js';

export type ElectionOutcome = 'won' | 'lost' | 'undecided';

export class CandidateState {
  private readonly granted = new Map<number, boolean>();

  constructor(
    /** A pre-vote round asks whether a quorum would vote, without changing anyone's term. */
    readonly preVote: boolean,
    private readonly voters: number,
    private readonly quorum: number,
  ) {}

  /** The answer this round counts; answers to the other kind of round are stale. */
  get responseType(): MessageType {
    return this.preVote ? MessageType.PreVoteResp : MessageType.VoteResp;
  }

  /**
   * Counts `from`'s first answer (a duplicate changes nothing). Won once a quorum granted;
   * lost once so many refused that a quorum can no longer grant.
   */
  record(from: number, granted: boolean): ElectionOutcome {
    if (!this.granted.has(from)) this.granted.set(from, granted);
    let yes = 0;
    for (const g of this.granted.values()) if (g) yes++;
    const no = this.granted.size - yes;
    if (yes >= this.quorum) return 'won';
    if (no > this.voters - this.quorum) return 'lost';
    return 'undecided';
  }
}
