/**
 * The raft worker thread: the I/O shell around the metadata quorum.
 *
 * - Runs the Raft driver with the metadata image as its state machine, and publishes the
 *   image to the main thread (`metadata`) after every entry that changed it, but only once
 *   this broker has registered and the image holds that registration (metadata/catch-up.ts):
 *   what the local log replays at start is as old as the last run, and must not be acted on.
 * - While this node leads, runs a Controller: first commits a ControllerActivationRecord
 *   (and the cluster id when the log has none), so it decides only on a complete image; then
 *   executes requests one at a time (each proposes its records and answers after they
 *   commit), from its own main thread and from the other nodes (`onLeaderRpc`), and fences
 *   silent brokers on a timer. Every broker is a voter, so the raft transport's connections
 *   are the brokers' connections to the controller: when one with a broker closes (its
 *   process died, most likely), the controller fences it `brokerFastFenceMs` later unless it
 *   heartbeats first; a broker whose connection with the leader closed or who sees a new
 *   leader heartbeats at once, so a live one is rarely fenced by mistake.
 * - Registers this broker with whichever node leads and heartbeats every
 *   `brokerHeartbeatIntervalMs`; registers again when the controller no longer knows it.
 * - Forwards its main thread's requests to the leader when it does not lead, retrying across
 *   leader changes until the request's timeout; producer-id blocks are asked for in the name
 *   of this broker's registration.
 *
 * Messages with the main thread are typed in src/shared/metadata-types.ts; controller RPCs in
 * metadata/rpc.ts. No exception leaves this thread: a request that fails is answered with an
 * error code, a start that fails with a `fatal` message.
 */
import { RaftStats } from '../../shared/metrics/raft-stats.js';
import { recordThreadStats } from '../../shared/metrics/thread-stats.js';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { failAcls, failAllTopics, failConfigs, failElections, failUsers } from '../../shared/admin-results.js';
import { ErrorCode } from '../../shared/errors.js';
import { childLogger } from '../../shared/logger.js';
import type {
  AdminRequest,
  AllocateProducerIdsRequest,
  AlterPartitionRequest,
  AlterScramRequest,
  AlterConfigsRequest,
  ElectLeadersRequest,
  AlterReassignmentsRequest,
  CreateAclsRequest,
  DeleteAclsRequest,
  MainToRaftMessage,
  RaftToMainMessage,
  RaftWorkerData,
} from '../../shared/metadata-types.js';
import { NotLeaderError, RaftDriver, type StateMachine } from './driver.js';
import { MetadataCatchUp } from './metadata/catch-up.js';
import { Controller, type ControllerRandom } from './metadata/controller.js';
import type { Decision } from './metadata/records.js';
import { MetadataImage } from './metadata/image.js';
import { decodeBatch, encodeBatch, type MetadataRecord } from './metadata/records.js';
import { decodeRpc, decodeRpcReply, encodeRpc, type ControllerRpc, type RpcReplies, type RpcReply } from './metadata/rpc.js';

/** Pause between attempts while there is no leader or it just changed. */
const RETRY_MS = 50;
/** Used when a request carries no timeout (Kafka clients send 0 to mean "do not wait"). */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** How long a stopping broker waits for the controller to move its leaderships away. */
const CONTROLLED_SHUTDOWN_MS = 2_000;
/** While fenced, heartbeat this often so the broker is unfenced soon after it caught up. */
const FENCED_HEARTBEAT_MS = 100;

class TimeoutError extends Error {}

const random: ControllerRandom = {
  int: (bound) => randomInt(bound),
  id: () => randomBytes(16).toString('hex'),
};

class RaftWorker {
  private readonly log;
  private readonly image = new MetadataImage();
  private readonly catchUp = new MetadataCatchUp();
  private published = false;
  private readonly stopping = new AbortController();
  private readonly incarnationId = randomBytes(16).toString('hex');
  private driver: RaftDriver | undefined;
  private leaderId: number | undefined;
  /** Term this node leads in (-1: not leading); a Controller exists once it is activated. */
  private leadingTerm = -1;
  private controller: Controller | null = null;
  /** Controller work runs one decision at a time, each against the image its predecessor left. */
  private queue: Promise<unknown> = Promise.resolve();
  private tickQueued = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private fastFenceTimer: NodeJS.Timeout | undefined;
  /** Ends the broker's wait for its next heartbeat, when it is waiting. */
  private wakeHeartbeat: (() => void) | undefined;
  private brokerEpoch = -1;
  private fenced = true;

  constructor(
    private readonly data: RaftWorkerData,
    private readonly post: (msg: RaftToMainMessage) => void,
  ) {
    this.log = childLogger({ thread: 'raft', nodeId: data.nodeId });
  }

  async start(): Promise<void> {
    const stateMachine: StateMachine = {
      apply: (entries) => this.applyEntries(entries),
      takeSnapshot: () => this.image.encodeSnapshot(),
      restoreSnapshot: (bytes) => {
        this.image.restore(bytes);
        this.publish();
      },
    };
    this.driver = await RaftDriver.start({
      nodeId: this.data.nodeId,
      voters: this.data.voters,
      listen: this.data.controllerListen,
      dataDir: this.data.metadataDir,
      stateMachine,
      logger: this.log,
      electionTimeoutMs: this.data.settings.electionTimeoutMs,
      ...(this.data.controllerTls !== undefined ? { tls: this.data.controllerTls } : {}),
      onLeaderRpc: (_from, bytes) => this.onLeaderRpc(bytes),
      onPeerConnection: (peerId, up) => this.onPeerConnection(peerId, up),
      stats: new RaftStats(this.data.raftStats),
    });
    if ((this.data.bootstrapScram?.length ?? 0) > 0 && this.image.clusterId !== '') {
      this.log.info({ users: this.data.bootstrapScram!.map((c) => c.user) }, '--add-scram ignored: the metadata log already holds a cluster');
    }
    this.driver.onLeaderChange((leaderId, term) => this.onLeaderChange(leaderId, term));
    this.onLeaderChange(this.driver.leaderId, this.driver.term);
    this.publish();
    const tickMs = Math.max(10, Math.min(500, this.data.settings.brokerSessionTimeoutMs / 4));
    this.tickTimer = setInterval(() => this.queueTick(), tickMs);
    void this.brokerLifecycle();
  }

  private applyEntries(entries: { index: number; data: Uint8Array }[]): void {
    let changed = false;
    for (const entry of entries) {
      let records: MetadataRecord[] = [];
      try {
        records = decodeBatch(entry.data);
      } catch (err) {
        this.log.error({ err, index: entry.index }, 'undecodable metadata entry skipped');
      }
      if (this.image.apply(records, entry.index)) changed = true;
    }
    if (changed || !this.published) this.publish();
  }

  /** Sends the image to the main thread, once it has caught up with this broker's registration. */
  private publish(): void {
    if (!this.catchUp.mayPublish(this.image.offset)) return;
    if (!this.published) {
      this.published = true;
      this.log.info({ offset: this.image.offset, registrationOffset: this.catchUp.target }, 'metadata caught up with this broker\'s registration');
    }
    this.post({ type: 'metadata', snapshot: this.image.toMetadataSnapshot(this.leaderId ?? -1) });
  }

  private onLeaderChange(leaderId: number | undefined, term: number): void {
    const changed = leaderId !== this.leaderId;
    this.leaderId = leaderId;
    if (leaderId === this.data.nodeId) {
      if (this.leadingTerm !== term) {
        this.leadingTerm = term;
        this.controller = null;
        void this.serially(() => this.activate(term));
      }
    } else {
      this.leadingTerm = -1;
      this.controller = null;
    }
    if (changed) {
      this.log.info({ leaderId, term }, 'metadata leader changed');
      this.publish();
      this.wakeHeartbeat?.();
    }
  }

  private onPeerConnection(peerId: number, up: boolean): void {
    if (peerId === this.leaderId) this.wakeHeartbeat?.();
    if (up || this.controller === null) return;
    const closedAt = Date.now();
    void this.serially(async () => {
      this.controller?.brokerDisconnected(peerId, closedAt);
      this.armFastFence();
    });
  }

  /** Runs the controller's tick when the first broker whose connection closed is due to be fenced. */
  private armFastFence(): void {
    clearTimeout(this.fastFenceTimer);
    const at = this.controller?.nextFastFenceMs();
    if (at === undefined || this.stopping.signal.aborted) return;
    this.fastFenceTimer = setTimeout(() => this.queueTick(), Math.max(0, at - Date.now()));
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async activate(term: number): Promise<void> {
    if (this.leadingTerm !== term || this.stopping.signal.aborted) return;
    const records: MetadataRecord[] = [{ type: 'controllerActivation', controllerId: this.data.nodeId, term }];
    // An earlier leader's cluster id, if any, is applied before this one and wins.
    if (this.image.clusterId === '') {
      records.push({ type: 'clusterId', clusterId: this.data.clusterId ?? randomBytes(16).toString('base64url') });
      // A new metadata log: the first credentials go in with the cluster id (--add-scram).
      for (const c of this.data.bootstrapScram ?? []) {
        records.push({ type: 'userScramCredential', name: c.user, mechanism: c.mechanism, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey, iterations: c.iterations });
      }
    }
    try {
      await this.driver!.propose(encodeBatch(records));
    } catch (err) {
      this.log.warn({ err, term }, 'controller activation not committed');
      if (this.leadingTerm === term && !this.stopping.signal.aborted) {
        setTimeout(() => void this.serially(() => this.activate(term)), RETRY_MS).unref();
      }
      return;
    }
    if (this.leadingTerm !== term) return;
    if (this.data.clusterId !== undefined && this.data.clusterId !== this.image.clusterId) {
      this.log.warn({ configured: this.data.clusterId, log: this.image.clusterId }, 'the metadata log has another cluster id; it wins');
    }
    const controller = new Controller(this.image, this.data.settings, random, Date.now());
    // Connections that closed before this node led count from when they closed.
    for (const voter of this.data.voters) {
      const since = voter.id === this.data.nodeId ? undefined : this.driver!.peerDownSince(voter.id);
      if (since !== undefined) controller.brokerDisconnected(voter.id, since);
    }
    this.controller = controller;
    this.armFastFence();
    this.log.info({ term }, 'controller active');
  }

  private queueTick(): void {
    if (this.controller === null || this.tickQueued) return;
    this.tickQueued = true;
    void this.serially(async () => {
      this.tickQueued = false;
      const records = this.controller?.tick(Date.now()) ?? [];
      if (records.length === 0) return;
      try {
        await this.driver!.propose(encodeBatch(records));
        const fenced = records.filter((r) => r.type === 'fenceBroker').map((r) => r.brokerId);
        if (fenced.length > 0) this.log.info({ fenced }, 'broker fenced: connection closed or session expired');
      } catch (err) {
        this.log.warn({ err }, 'fencing not committed');
      }
      this.armFastFence();
    });
  }

  /** Carries out a controller request on this node, which must lead. */
  private executeOnLeader(rpc: ControllerRpc): Promise<RpcReply> {
    return this.serially(async (): Promise<RpcReply> => {
      const controller = this.controller;
      if (controller === null || !this.driver!.isLeader()) return { status: 'notController' };
      let decision: Decision<unknown>;
      try {
        decision = decide(controller, rpc, Date.now());
        if (decision.records.length > 0) await this.driver!.propose(encodeBatch(decision.records));
      } catch (err) {
        if (err instanceof NotLeaderError) return { status: 'notController' };
        return { status: 'failed', message: err instanceof Error ? err.message : String(err) };
      }
      let reply = decision.result;
      if (rpc.op === 'registerBroker') {
        const epoch = this.image.brokers.get(rpc.registration.brokerId)?.epoch ?? -1;
        reply = { errorCode: (reply as { errorCode: number }).errorCode, brokerEpoch: epoch };
      }
      return { status: 'ok', reply: reply as RpcReplies[ControllerRpc['op']] };
    });
  }

  private async onLeaderRpc(bytes: Uint8Array): Promise<Uint8Array> {
    let reply: RpcReply;
    try {
      reply = await this.executeOnLeader(decodeRpc(bytes));
    } catch (err) {
      reply = { status: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
    return encodeRpc(reply);
  }

  /** Runs a request on whichever node leads, retrying across leader changes until the deadline. */
  private async callController<K extends ControllerRpc['op']>(
    rpc: ControllerRpc & { op: K },
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<RpcReplies[K]> {
    for (;;) {
      const remaining = deadlineMs - Date.now();
      if (remaining <= 0) throw new TimeoutError('timed out waiting for the controller');
      const driver = this.driver!;
      let reply: RpcReply<K> | undefined;
      try {
        if (driver.isLeader()) {
          reply = (await withTimeout(this.executeOnLeader(rpc), remaining)) as RpcReply<K>;
        } else if (driver.leaderId !== undefined) {
          reply = decodeRpcReply<K>(await driver.callLeader(encodeRpc(rpc), remaining));
        }
      } catch (err) {
        if (err instanceof TimeoutError) throw err;
        this.log.debug({ err, op: rpc.op }, 'controller call failed, retrying');
      }
      if (reply?.status === 'ok') return reply.reply;
      if (reply?.status === 'failed') throw new Error(reply.message);
      await sleep(Math.min(RETRY_MS, Math.max(1, deadlineMs - Date.now())), undefined, { signal });
    }
  }

  private async brokerLifecycle(): Promise<void> {
    const signal = this.stopping.signal;
    const interval = this.data.settings.brokerHeartbeatIntervalMs;
    while (!signal.aborted) {
      const deadline = Date.now() + Math.max(interval * 2, 1000);
      try {
        if (this.brokerEpoch < 0) {
          const r = await this.callController({
            op: 'registerBroker',
            registration: {
              brokerId: this.data.nodeId, incarnationId: this.incarnationId,
              host: this.data.advertised.host, port: this.data.advertised.port, listeners: this.data.advertisedListeners, rack: this.data.rack,
            },
          }, deadline, signal);
          if (r.errorCode === ErrorCode.NONE) {
            this.brokerEpoch = r.brokerEpoch;
            this.log.info({ brokerEpoch: r.brokerEpoch, metadataOffset: this.image.offset }, 'broker registered');
            this.catchUp.registered(r.brokerEpoch);
            this.publish();
            continue;
          }
        } else {
          const r = await this.callController({
            op: 'heartbeat',
            heartbeat: { brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch, metadataOffset: this.image.offset, wantShutDown: false },
          }, deadline, signal);
          if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
            this.brokerEpoch = -1;
            continue;
          }
          if (r.fenced !== this.fenced) this.log.info({ fenced: r.fenced }, r.fenced ? 'broker fenced' : 'broker unfenced');
          this.fenced = r.fenced;
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.debug({ err }, 'broker heartbeat failed');
      }
      await this.untilNextHeartbeat(this.fenced ? Math.min(interval, FENCED_HEARTBEAT_MS) : interval);
    }
  }

  /** Waits `ms`, or less when woken by a leader change or a closed connection with the leader. */
  private untilNextHeartbeat(ms: number): Promise<void> {
    const signal = this.stopping.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wakeHeartbeat = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.wakeHeartbeat = done;
    });
  }

  async handleRequest(msg: { type: 'request'; id: number } & WorkerRequest): Promise<void> {
    const { id, type: _type, ...rpc } = msg;
    const deadline = Date.now() + (rpc.timeoutMs > 0 ? rpc.timeoutMs : DEFAULT_REQUEST_TIMEOUT_MS);
    const code = (err: unknown): [number, string] => err instanceof TimeoutError
      ? [ErrorCode.REQUEST_TIMED_OUT, 'The controller did not answer in time.']
      : [ErrorCode.UNKNOWN_SERVER_ERROR, err instanceof Error ? err.message : String(err)];
    if (rpc.op === 'allocateProducerIds') {
      const fail = (errorCode: number, errorMessage: string): void =>
        this.post({ type: 'allocateProducerIdsResponse', id, result: { errorCode, errorMessage, firstProducerId: -1, size: 0 } });
      if (this.brokerEpoch < 0) return fail(ErrorCode.BROKER_ID_NOT_REGISTERED, 'This broker is not registered yet.');
      try {
        const own = { op: rpc.op, brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch };
        this.post({ type: 'allocateProducerIdsResponse', id, result: await this.callController(own, deadline, this.stopping.signal) });
      } catch (err) {
        fail(...code(err));
      }
      return;
    }
    if (rpc.op === 'createAcls' || rpc.op === 'deleteAcls') {
      try {
        this.post({ type: 'aclResponse', id, results: await this.callController(rpc, deadline, this.stopping.signal) });
      } catch (err) {
        const [errorCode, errorMessage] = code(err);
        this.post({ type: 'aclResponse', id, results: failAcls(rpc, errorCode, errorMessage) });
      }
      return;
    }
    if (rpc.op === 'alterConfigs') {
      try {
        this.post({ type: 'configResponse', id, results: await this.callController(rpc, deadline, this.stopping.signal) });
      } catch (err) {
        const [errorCode, errorMessage] = code(err);
        this.post({ type: 'configResponse', id, results: failConfigs(rpc, errorCode, errorMessage) });
      }
      return;
    }
    if (rpc.op === 'electLeaders' || rpc.op === 'alterReassignments') {
      try {
        this.post({ type: 'electionResponse', id, results: await this.callController(rpc, deadline, this.stopping.signal) });
      } catch (err) {
        const [errorCode, errorMessage] = code(err);
        this.post({ type: 'electionResponse', id, results: failElections(rpc, errorCode, errorMessage) });
      }
      return;
    }
    if (rpc.op === 'alterUserScramCredentials') {
      try {
        this.post({ type: 'userResponse', id, results: await this.callController(rpc, deadline, this.stopping.signal) });
      } catch (err) {
        const [errorCode, errorMessage] = code(err);
        this.post({ type: 'userResponse', id, results: failUsers(rpc, errorCode, errorMessage) });
      }
      return;
    }
    if (rpc.op === 'alterPartition') {
      try {
        // The ISR change is this broker's: it speaks with its own registration.
        const own = { ...rpc, brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch };
        this.post({ type: 'alterPartitionResponse', id, result: await this.callController(own, deadline, this.stopping.signal) });
      } catch (err) {
        const [errorCode, errorMessage] = code(err);
        this.post({ type: 'alterPartitionResponse', id, result: { errorCode, errorMessage } });
      }
      return;
    }
    try {
      this.post({ type: 'response', id, results: await this.callController(rpc, deadline, this.stopping.signal) });
    } catch (err) {
      const [errorCode, errorMessage] = code(err);
      this.post({ type: 'response', id, results: failAllTopics(rpc, errorCode, errorMessage) });
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.tickTimer);
    clearTimeout(this.fastFenceTimer);
    if (this.driver === undefined) return;
    if (this.brokerEpoch >= 0) {
      try {
        await this.callController({
          op: 'heartbeat',
          heartbeat: { brokerId: this.data.nodeId, brokerEpoch: this.brokerEpoch, metadataOffset: this.image.offset, wantShutDown: true },
        }, Date.now() + CONTROLLED_SHUTDOWN_MS);
      } catch (err) {
        this.log.warn({ err }, 'controlled shutdown not acknowledged');
      }
    }
    this.leadingTerm = -1;
    this.controller = null;
    await this.driver.stop();
  }
}

function decide(controller: Controller, rpc: ControllerRpc, nowMs: number): Decision<unknown> {
  switch (rpc.op) {
    case 'registerBroker': return controller.registerBroker(rpc.registration, nowMs);
    case 'heartbeat': return controller.heartbeat(rpc.heartbeat, nowMs);
    case 'createTopics': return controller.createTopics(rpc);
    case 'deleteTopics': return controller.deleteTopics(rpc);
    case 'createPartitions': return controller.createPartitions(rpc);
    case 'alterPartition': return controller.alterPartition(rpc);
    case 'allocateProducerIds': return controller.allocateProducerIds(rpc);
    case 'alterUserScramCredentials': return controller.alterUserScramCredentials(rpc);
    case 'createAcls': return controller.createAcls(rpc);
    case 'deleteAcls': return controller.deleteAcls(rpc);
    case 'alterConfigs': return controller.alterConfigs(rpc);
    case 'electLeaders': return controller.electLeaders(rpc);
    case 'alterReassignments': return controller.alterReassignments(rpc);
  }
}

type WorkerRequest = AdminRequest | AlterPartitionRequest | AllocateProducerIdsRequest | AlterScramRequest | CreateAclsRequest | DeleteAclsRequest | AlterConfigsRequest | ElectLeadersRequest | AlterReassignmentsRequest;

/** Answers a request that will not be carried out, so that every request gets its response. */
function refuse(msg: { id: number } & WorkerRequest, errorMessage: string): void {
  const errorCode = ErrorCode.NOT_CONTROLLER;
  if (msg.op === 'createAcls' || msg.op === 'deleteAcls') {
    postToMain({ type: 'aclResponse', id: msg.id, results: failAcls(msg, errorCode, errorMessage) });
  } else if (msg.op === 'electLeaders' || msg.op === 'alterReassignments') {
    postToMain({ type: 'electionResponse', id: msg.id, results: failElections(msg, errorCode, errorMessage) });
  } else if (msg.op === 'alterConfigs') {
    postToMain({ type: 'configResponse', id: msg.id, results: failConfigs(msg, errorCode, errorMessage) });
  } else if (msg.op === 'alterUserScramCredentials') {
    postToMain({ type: 'userResponse', id: msg.id, results: failUsers(msg, errorCode, errorMessage) });
  } else if (msg.op === 'allocateProducerIds') {
    postToMain({ type: 'allocateProducerIdsResponse', id: msg.id, result: { errorCode, errorMessage, firstProducerId: -1, size: 0 } });
  } else if (msg.op === 'alterPartition') {
    postToMain({ type: 'alterPartitionResponse', id: msg.id, result: { errorCode, errorMessage } });
  } else {
    postToMain({ type: 'response', id: msg.id, results: failAllTopics(msg, errorCode, errorMessage) });
  }
}

function postToMain(msg: RaftToMainMessage): void {
  parentPort!.postMessage(msg);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('timed out waiting for the controller')), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('the raft worker runs in a worker thread');
  const post = postToMain;
  const data = workerData as RaftWorkerData;
  recordThreadStats(data.threadStats, 1);
  const worker = new RaftWorker(data, post);
  const log = childLogger({ thread: 'raft' });
  const started = worker.start().then(() => true, (err: unknown) => {
    log.error({ err }, 'raft worker failed to start');
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
    return false;
  });
  let stopping: Promise<void> | undefined;
  port.on('message', (msg: MainToRaftMessage) => {
    if (msg.type === 'shutdown') {
      stopping ??= started
        .then(() => worker.stop())
        .catch((err: unknown) => log.error({ err }, 'raft worker stop failed'))
        .then(() => {
          post({ type: 'stopped' });
          port.close();
        });
      return;
    }
    void started.then((ok) => {
      if (ok && stopping === undefined) return worker.handleRequest(msg);
      refuse(msg, ok ? 'The broker is shutting down.' : 'The metadata quorum is not running.');
    }).catch((err: unknown) => log.error({ err }, 'request handling failed'));
  });
}

main();
