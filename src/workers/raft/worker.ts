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
 * - Registers this broker with whichever node leads and heartbeats (broker-heartbeats.ts).
 * - Forwards its main thread's requests to the leader when it does not lead, retrying across
 *   leader changes until the request's timeout; producer-id blocks are asked for in the name
 *   of this broker's registration.
 *
 * Messages with the main thread are typed in src/shared/metadata-types.ts, its answers made in
 * request-answers.ts; controller RPCs in metadata/rpc.ts. No exception leaves this thread: a request that fails is answered with an
 * error code, a start that fails with a `fatal` message.
 */
import { RaftStats } from '../../shared/metrics/raft-stats.js';
import { recordThreadStats } from '../../shared/metrics/thread-stats.js';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode } from '../../shared/errors.js';
import { childLogger } from '../../shared/logger.js';
import type { MainToRaftMessage, RaftToMainMessage, RaftWorkerData } from '../../shared/metadata-types.js';
import { BrokerHeartbeats } from './broker-heartbeats.js';
import { NotLeaderError, RaftDriver, type StateMachine } from './driver.js';
import { MetadataCatchUp } from './metadata/catch-up.js';
import { Controller, type ControllerRandom } from './metadata/controller.js';
import type { Decision } from './metadata/records.js';
import { MetadataImage } from './metadata/image.js';
import { decodeBatch, encodeBatch, type MetadataRecord } from './metadata/records.js';
import { decodeRpc, decodeRpcReply, encodeRpc, type ControllerRpc, type RpcReplies, type RpcReply } from './metadata/rpc.js';
import { carryOut, failedAnswer, type WorkerRequest } from './request-answers.js';

/** Pause between attempts while there is no leader or it just changed. */
const RETRY_MS = 50;
/** Used when a request carries no timeout (Kafka clients send 0 to mean "do not wait"). */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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
  private readonly heartbeats: BrokerHeartbeats;

  constructor(
    private readonly data: RaftWorkerData,
    private readonly post: (msg: RaftToMainMessage) => void,
  ) {
    this.log = childLogger({ thread: 'raft', nodeId: data.nodeId });
    this.heartbeats = new BrokerHeartbeats(
      data,
      (rpc, deadlineMs, signal) => this.callController(rpc, deadlineMs, signal),
      () => this.image.offset,
      (brokerEpoch) => {
        this.catchUp.registered(brokerEpoch);
        this.publish();
      },
      this.stopping.signal,
      this.log,
    );
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
    void this.heartbeats.run();
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
      this.heartbeats.wake();
    }
  }

  private onPeerConnection(peerId: number, up: boolean): void {
    if (peerId === this.leaderId) this.heartbeats.wake();
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
  private async callController<R extends ControllerRpc>(rpc: R, deadlineMs: number, signal?: AbortSignal): Promise<RpcReplies[R['op']]> {
    for (;;) {
      const remaining = deadlineMs - Date.now();
      if (remaining <= 0) throw new TimeoutError('timed out waiting for the controller');
      const driver = this.driver!;
      let reply: RpcReply<R['op']> | undefined;
      try {
        if (driver.isLeader()) {
          reply = (await withTimeout(this.executeOnLeader(rpc), remaining)) as RpcReply<R['op']>;
        } else if (driver.leaderId !== undefined) {
          reply = decodeRpcReply<R['op']>(await driver.callLeader(encodeRpc(rpc), remaining));
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

  async handleRequest(msg: { type: 'request'; id: number } & WorkerRequest): Promise<void> {
    const { type: _type, ...request } = msg;
    const deadline = Date.now() + (request.timeoutMs > 0 ? request.timeoutMs : DEFAULT_REQUEST_TIMEOUT_MS);
    if (request.op === 'allocateProducerIds' && this.heartbeats.brokerEpoch < 0) {
      this.post(failedAnswer(request, ErrorCode.BROKER_ID_NOT_REGISTERED, 'This broker is not registered yet.'));
      return;
    }
    try {
      const own = { brokerId: this.data.nodeId, brokerEpoch: this.heartbeats.brokerEpoch };
      this.post(await carryOut(request, own, (rpc) => this.callController(rpc, deadline, this.stopping.signal)));
    } catch (err) {
      const [errorCode, errorMessage] = err instanceof TimeoutError
        ? [ErrorCode.REQUEST_TIMED_OUT, 'The controller did not answer in time.']
        : [ErrorCode.UNKNOWN_SERVER_ERROR, err instanceof Error ? err.message : String(err)];
      this.post(failedAnswer(request, errorCode, errorMessage));
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearInterval(this.tickTimer);
    clearTimeout(this.fastFenceTimer);
    if (this.driver === undefined) return;
    await this.heartbeats.controlledShutdown();
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

/** Answers a request that will not be carried out, so that every request gets its response. */
function refuse(msg: { id: number } & WorkerRequest, errorMessage: string): void {
  postToMain(failedAnswer(msg, ErrorCode.NOT_CONTROLLER, errorMessage));
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
