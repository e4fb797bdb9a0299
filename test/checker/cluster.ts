/**
 * Three broker processes wired through fault-injecting proxies:
 *
 *   checker ──direct──> broker j client port           (the checker is never cut off)
 *   broker i ──Q_j────> broker j client port           (advertised.listeners = Q_j: replica fetches)
 *   broker i ──R_ij───> broker j controller port       (broker i's controller.quorum.voters names R_ij)
 *
 * Isolating broker X cuts every proxied connection between X and another broker, so X can
 * neither fetch, be fetched from, vote, nor heartbeat, while the checker's clients (which follow
 * the advertised addresses, through the Q proxies) still reach all three: the checker sees both
 * sides of the partition, as Jepsen's clients do.
 *
 * `view` is the fault injector's view, not the clients': it asks every running broker and takes
 * the newest answer per partition, so faults pick their victims from the truth.
 */
import { freePort, startBroker, waitForPort, type BrokerProcess } from '../helpers/broker.js';
import { activeController } from '../cluster/fixtures/cluster.js';
import { BrokerLinks, CoordinatorType, type Address, type PartitionState } from '../../src/checker/client.js';
import { brokerBySocket, FaultProxy } from './proxy.js';

/** The settings every checker run uses (one partition worker: three brokers share two cores). */
export const CHECKER_SETTINGS: Record<string, string | number> = {
  'default.replication.factor': 3,
  'min.insync.replicas': 2,
  'broker.session.timeout.ms': 3000,
  'broker.heartbeat.interval.ms': 500,
  'replica.lag.time.max.ms': 3000,
  'controller.quorum.election.timeout.ms': 1000,
  'num.partition.workers': 1,
  'num.partitions': 3,
  'offsets.topic.replication.factor': 3,
};

export class CheckerCluster {
  readonly admin = new BrokerLinks('checker-admin');
  private isolatedIds: number[] = [];

  private constructor(
    readonly brokers: BrokerProcess[],
    private readonly proxies: FaultProxy[],
  ) {}

  /** With `direct`, brokers talk to each other without proxies (and cannot be isolated). */
  static async start(overrides: Record<string, string | number> = {}, direct = false): Promise<CheckerCluster> {
    const ids = [1, 2, 3];
    const clientPorts = new Map<number, number>();
    const controllerPorts = new Map<number, number>();
    for (const id of ids) {
      clientPorts.set(id, await freePort());
      controllerPorts.set(id, await freePort());
    }
    const brokers: BrokerProcess[] = [];
    const pids = (): Map<number, number | undefined> => new Map(brokers.map((b) => [b.nodeId, b.proc.pid]));
    const proxies: FaultProxy[] = [];
    const clientProxy = new Map<number, FaultProxy>();
    for (const to of ids) {
      const p: FaultProxy = new FaultProxy(clientPorts.get(to)!, { from: brokerBySocket(() => p.port, pids), to });
      await p.listen();
      clientProxy.set(to, p);
      proxies.push(p);
    }
    const voters = new Map<number, string>();
    for (const from of ids) {
      const entries: string[] = [];
      for (const to of ids) {
        if (to === from || direct) {
          entries.push(`${to}@127.0.0.1:${controllerPorts.get(to)}`);
          continue;
        }
        const p = new FaultProxy(controllerPorts.get(to)!, { from, to });
        entries.push(`${to}@127.0.0.1:${await p.listen()}`);
        proxies.push(p);
      }
      voters.set(from, entries.join(','));
    }
    for (const id of ids) {
      brokers.push(await startBroker({
        nodeId: id,
        port: clientPorts.get(id)!,
        controllerPort: controllerPorts.get(id)!,
        voters: voters.get(id)!,
        overrides: {
          ...CHECKER_SETTINGS,
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${direct ? clientPorts.get(id) : clientProxy.get(id)!.port}`,
          ...overrides,
        },
        wait: false,
      }));
    }
    const cluster = new CheckerCluster(brokers, proxies);
    try {
      await Promise.all(brokers.map((b) => waitForPort(b.port, 60_000, b)));
    } catch (e) {
      cluster.cleanup();
      throw e;
    }
    return cluster;
  }

  broker(id: number): BrokerProcess {
    return this.brokers[id - 1]!;
  }

  /** Every broker's client port, as the workload's bootstrap list. */
  bootstrap(): Address[] {
    return this.brokers.map((b) => addressOf(b));
  }

  running(): BrokerProcess[] {
    return this.brokers.filter(isRunning);
  }

  /** Cuts broker `id` off from the other two (null heals). */
  isolate(id: number | null): void {
    this.isolatedIds = id === null ? [] : [id];
    for (const p of this.proxies) p.setIsolated(this.isolatedIds);
  }

  /** CreateTopics v7 with replication factor 3, then waits until every partition has a leader and a full ISR. */
  async createTopic(topic: string, partitions: number): Promise<void> {
    const r = await this.admin.createTopic(addressOf(this.brokers[0]!), topic, partitions, 3);
    if (r.kind === 'unknown') throw new Error(`CreateTopics ${topic}: ${r.reason}`);
    if (r.kind === 'error') throw new Error(`CreateTopics ${topic}: error ${r.errorCode}`);
    await this.waitFullIsr(topic, 30_000);
  }

  /**
   * The newest partition state any reachable broker reports: per partition the answer with the
   * highest leader epoch, so a broker cut off with a stale view never wins.
   */
  async view(topic: string, links: BrokerLinks = this.admin): Promise<PartitionState[]> {
    const answers = await Promise.all(this.running().map((b) => links.metadata(addressOf(b), topic, 1500)));
    const best = new Map<number, PartitionState>();
    for (const a of answers) {
      if (a.kind !== 'ok') continue;
      for (const p of a.value.partitions) {
        const cur = best.get(p.partition);
        if (!cur || p.leaderEpoch > cur.leaderEpoch || (p.leaderEpoch === cur.leaderEpoch && p.isr.length < cur.isr.length)) best.set(p.partition, p);
      }
    }
    return [...best.values()].sort((a, b) => a.partition - b.partition);
  }

  /** The active controller a majority of the running brokers name (DescribeCluster for controller endpoints). */
  async activeController(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const ids = await Promise.all(this.running().map((b) => activeController(b.port, 1500).catch(() => -1)));
      const id = ids.find((x) => x > 0 && ids.filter((y) => y === x).length >= 2);
      if (id !== undefined) return id;
      await sleep(100);
    }
    throw new Error(`no active controller named by a majority within ${timeoutMs} ms`);
  }

  /** The broker a running broker names as `transactionalId`'s coordinator (FindCoordinator). */
  async txnCoordinator(transactionalId: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const b of this.running()) {
        const r = await this.admin.findCoordinator(addressOf(b), transactionalId, CoordinatorType.TRANSACTION);
        if (r.kind === 'ok') return r.value.nodeId;
        last = r.kind === 'error' ? `error ${r.errorCode}` : r.reason;
      }
      await sleep(100);
    }
    throw new Error(`no broker named the coordinator of ${transactionalId} within ${timeoutMs} ms: ${last}`);
  }

  /** Waits until every running broker reports a leader and all three replicas in the ISR for every partition. */
  async waitFullIsr(topic: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const answers = await Promise.all(this.running().map((b) => this.admin.metadata(addressOf(b), topic, 1500)));
      const ok = answers.length === 3 && answers.every((a) => a.kind === 'ok' && a.value.partitions.length > 0 &&
        a.value.partitions.every((p) => p.leader > 0 && p.isr.length === 3));
      if (ok) return;
      last = JSON.stringify(answers.map((a) => (a.kind === 'ok' ? a.value.partitions.map((p) => `${p.partition}:L${p.leader}e${p.leaderEpoch}[${p.isr}]`) : a)));
      await sleep(200);
    }
    throw new Error(`${topic}: ISR not full on all brokers within ${timeoutMs} ms: ${last}`);
  }

  output(): string {
    return this.brokers.map((b) => `--- broker ${b.nodeId} ---\n${b.output()}`).join('\n');
  }

  cleanup(): void {
    this.admin.close();
    for (const p of this.proxies) p.close();
    for (const b of this.brokers) b.cleanup();
  }
}

function addressOf(b: BrokerProcess): Address {
  return `127.0.0.1:${b.port}`;
}

export function isRunning(b: BrokerProcess): boolean {
  return b.proc.exitCode === null && b.proc.signalCode === null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
