/**
 * When a broker's metadata image may leave the raft worker for the main thread and the
 * partition workers. Pure: offsets in, a yes or no out.
 *
 * At start the image holds what the local snapshot and log replay up to the commit index this
 * node last persisted: committed, but as old as the last run. A broker that acted on it would
 * lead partitions the controller has since given to other brokers at newer leader epochs, and
 * answer Metadata, Produce and Fetch for them. So, as Kafka's broker waits for the controller
 * to call it caught up (its applied offset at or past its BrokerRegistration record) before it
 * publishes metadata and unfences, nothing is published until this process has registered
 * and the image holds that registration. The registration of a new incarnation takes the
 * previous one's leaderships away in the same entry, so from that offset on every leadership
 * the image gives this broker was given to this process, after everything it missed.
 *
 * Once caught up the image is published as it applies entries: it may lag the quorum, as any
 * broker's metadata does, but it never goes back to a state older than its registration.
 */
export class MetadataCatchUp {
  /** Offset of this process's registration record (its broker epoch); -1 until registered. */
  private registrationOffset = -1;
  private caughtUp = false;

  /** The controller committed this process's registration at `offset`. */
  registered(offset: number): void {
    this.registrationOffset = offset;
  }

  /** Where the image must reach before anything is published; -1 while not registered. */
  get target(): number {
    return this.registrationOffset;
  }

  /** Whether an image applied up to `appliedOffset` may be published; once true, true for good. */
  mayPublish(appliedOffset: number): boolean {
    if (!this.caughtUp && this.registrationOffset >= 0 && appliedOffset >= this.registrationOffset) this.caughtUp = true;
    return this.caughtUp;
  }
}
