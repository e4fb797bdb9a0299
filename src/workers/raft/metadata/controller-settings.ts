/** What a Controller is configured with, and the randomness it is given. */

export interface ControllerSettings {
  numPartitions: number;
  defaultReplicationFactor: number;
  brokerSessionTimeoutMs: number;
  /**
   * broker.session.fast.fence.ms: how long after its connection closed a broker is fenced
   * when no heartbeat of its incarnation came since; absent, a close alone fences nobody.
   */
  brokerFastFenceMs?: number;
  /** auto.leader.rebalance.enable: leadership returns to the first replica once it is in the ISR. */
  autoLeaderRebalance?: boolean;
  /**
   * max.broker.partitions: partition replicas one broker may host. Every partition costs the
   * metadata image, the quorum's snapshots and each hosting broker memory; past this a create
   * is refused whole (POLICY_VIOLATION) rather than let a few large requests exhaust them.
   */
  maxBrokerPartitions?: number;
}

/** Randomness, injected so that tests can fix it. */
export interface ControllerRandom {
  /** An integer in [0, bound). */
  int(bound: number): number;
  /** 16 random bytes as 32 hex chars. */
  id(): string;
}
