/**
 * What each API asks the authorizer, as Kafka's broker asks it, and how a refusal looks on
 * the wire. A rule either answers the request itself (refused as a whole) or lets it through,
 * possibly with the items the principal may not touch taken out and answered with the
 * authorization error after the handler ran, so handlers never see what they must not do.
 *
 *   Produce            WRITE topic (and WRITE transactional id; CREATE to auto-create)
 *   Fetch              READ topic; a follower's fetch CLUSTER_ACTION on the cluster
 *   ListOffsets        DESCRIBE topic
 *   Metadata           DESCRIBE topic (unauthorized topics are hidden from "all topics");
 *                      auto-creation also CREATE on the cluster or the topic
 *   CreateTopics       CREATE on the cluster or on the topic
 *   DeleteTopics       DELETE topic           CreatePartitions   ALTER topic
 *   DeleteRecords      DELETE topic          DescribeProducers  READ topic
 *   DescribeConfigs    DESCRIBE_CONFIGS topic / cluster (broker configs)
 *   DescribeClientQuotas  DESCRIBE_CONFIGS cluster
 *   AlterConfigs, IncrementalAlterConfigs   ALTER_CONFIGS topic / cluster (broker configs)
 *   DescribeCluster, DescribeAcls, DescribeUserScramCredentials   DESCRIBE cluster
 *   CreateAcls, DeleteAcls, AlterUserScramCredentials             ALTER cluster
 *   ElectLeaders, AlterPartitionReassignments   ALTER cluster
 *   DescribeLogDirs, ListPartitionReassignments DESCRIBE cluster
 *   group APIs         READ group (and READ topic for commits), DESCRIBE group to find,
 *                      describe, list or fetch offsets, DELETE group to delete;
 *                      ConsumerGroupHeartbeat READ group, ConsumerGroupDescribe DESCRIBE group,
 *                      OffsetDelete DELETE group and READ topic
 *   InitProducerId     WRITE transactional id, or IDEMPOTENT_WRITE on the cluster or WRITE on
 *                      some topic for an idempotent producer
 *   transactions       WRITE transactional id (and READ group, WRITE/READ topic);
 *                      WriteTxnMarkers CLUSTER_ACTION
 * An API with no rule here is refused with CLUSTER_AUTHORIZATION_FAILED.
 */
import { AclOperation as Op, CLUSTER_NAME, ResourceType as Res } from '../../shared/acl.js';
import { ErrorCode } from '../../shared/errors.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { createPartitionsError, createTopicsError, fetchError, listOffsetsError, metadataError, produceError } from '../error-responses.js';
import type { MetadataCache } from '../metadata-cache.js';

type Req = any;
type Resp = any;

export interface AuthorizationView {
  can(operation: number, resourceType: number, name: string): boolean;
  canAny(operation: number, resourceType: number): boolean;
  metadata: MetadataCache;
}

export type Guard =
  | { answer: object }
  | { req: object; finish?: (resp: Resp | null) => object | null };

/** The API's own answer to a request refused as a whole (its table entry's error response). */
export type Refusal = (req: Req, errorCode: number) => object;

type Rule = (g: AuthorizationView, req: Req, h: RequestHeaderInfo, refuse: Refusal) => Guard;

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

const pass: Rule = (_g, req) => ({ req });

function onCluster(op: number, refuse: (req: Req) => object): Rule {
  return (g, req) => (g.can(op, Res.CLUSTER, CLUSTER_NAME) ? { req } : { answer: refuse(req) });
}

/** A rule for an API acting on one group named in `groupId`. */
function onGroup(op: number): Rule {
  return (g, req, _h, refuse) => (g.can(op, Res.GROUP, req.groupId) ? { req } : { answer: refuse(req, GROUP_DENIED) });
}

/**
 * Takes the items the principal may not act on out of `req[listKey]` and appends their
 * error answers to `resp[respKey]` once the handler answered the rest.
 */
function split<T>(req: Req, listKey: string, allowed: (item: T) => boolean, respKey: string, denied: (items: T[]) => readonly object[] | undefined): Guard {
  const items = (req[listKey] ?? []) as T[];
  const refused = items.filter((i) => !allowed(i));
  if (refused.length === 0) return { req };
  return {
    req: { ...req, [listKey]: items.filter(allowed) },
    finish: (resp) => (resp === null ? null : { ...resp, [respKey]: [...(resp[respKey] ?? []), ...(denied(refused) ?? [])] }),
  };
}

/** Fetch v13+ names topics by id: the name the authorizer needs (unknown ids go on to the handler's own error). */
function fetchTopicName(g: AuthorizationView, t: Req): string | null {
  return t.topic !== '' && t.topic !== undefined ? t.topic : (g.metadata.topicById(t.topicId)?.name ?? null);
}

function mayCreateTopic(g: AuthorizationView, name: string): boolean {
  return g.can(Op.CREATE, Res.CLUSTER, CLUSTER_NAME) || g.can(Op.CREATE, Res.TOPIC, name);
}

/** AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on the topic, or on the cluster for broker configs. */
const alterConfigsRule: Rule = (g, req) => {
  const allowed = (r: Req) => (r.resourceType === Res.TOPIC ? g.can(Op.ALTER_CONFIGS, Res.TOPIC, r.resourceName)
    : g.can(Op.ALTER_CONFIGS, Res.CLUSTER, CLUSTER_NAME));
  return split(req, 'resources', allowed, 'responses', (resources: Req[]) => resources.map((r) => ({
    errorCode: r.resourceType === Res.TOPIC ? TOPIC_DENIED : CLUSTER_DENIED, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName,
  })));
};

const RULES: Partial<Record<number, Rule>> = {
  [ApiKey.ApiVersions]: pass,
  [ApiKey.SaslHandshake]: pass,
  [ApiKey.SaslAuthenticate]: pass,

  [ApiKey.Produce]: (g, req) => {
    if (req.transactionalId != null && !g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)) {
      return { answer: produceError(req, TXN_DENIED) };
    }
    // A produce to an unknown topic creates it (auto.create.topics.enable): that takes CREATE too.
    const allowed = (t: Req) => g.can(Op.WRITE, Res.TOPIC, t.name) && (g.metadata.topic(t.name) !== undefined || mayCreateTopic(g, t.name));
    return split(req, 'topicData', allowed, 'responses',
      (topics) => produceError({ ...req, topicData: topics }, TOPIC_DENIED).responses);
  },
  [ApiKey.Fetch]: (g, req) => {
    const replicaId = req.replicaState?.replicaId >= 0 ? req.replicaState.replicaId : req.replicaId;
    if (replicaId >= 0) {
      return g.can(Op.CLUSTER_ACTION, Res.CLUSTER, CLUSTER_NAME) ? { req } : { answer: { ...fetchError(req, TOPIC_DENIED), errorCode: CLUSTER_DENIED } };
    }
    return split(req, 'topics', (t: Req) => {
      const name = fetchTopicName(g, t);
      return name === null || g.can(Op.READ, Res.TOPIC, name);
    }, 'responses', (topics) => fetchError({ ...req, topics }, TOPIC_DENIED).responses);
  },
  [ApiKey.ListOffsets]: (g, req) => split(req, 'topics', (t: Req) => g.can(Op.DESCRIBE, Res.TOPIC, t.name), 'topics',
    (topics) => listOffsetsError({ ...req, topics }, TOPIC_DENIED).topics),
  [ApiKey.Metadata]: (g, req, h) => {
    const describable = (name: string) => g.can(Op.DESCRIBE, Res.TOPIC, name);
    const hide = (resp: Resp | null) => (resp === null ? null : { ...resp, topics: (resp.topics as Resp[]).filter((t) => t.errorCode !== 0 || describable(t.name)) });
    if (req.topics === null || req.topics.length === 0) return { req, finish: hide };
    const autoCreate = h.apiVersion < 4 || req.allowAutoTopicCreation;
    const allowed = (t: Req) => t.name === null
      || (describable(t.name) && (g.metadata.topic(t.name) !== undefined || !autoCreate || mayCreateTopic(g, t.name)));
    return split(req, 'topics', allowed, 'topics', (topics) => metadataError({ ...req, topics }, TOPIC_DENIED).topics);
  },
  [ApiKey.CreateTopics]: (g, req) => split(req, 'topics', (t: Req) => mayCreateTopic(g, t.name), 'topics',
    (topics) => createTopicsError({ ...req, topics }, TOPIC_DENIED).topics),
  [ApiKey.DeleteTopics]: (g, req) => {
    // v0-5 name topics in `topicNames`, v6+ in `topics` (by name or by id).
    const nameOf = (t: Req): string | undefined => (t.name ? t.name : g.metadata.topicById(t.topicId)?.name);
    const may = (name: string | undefined) => name === undefined || g.can(Op.DELETE, Res.TOPIC, name);
    const names = (req.topicNames ?? []) as string[];
    const topics = (req.topics ?? []) as Req[];
    const deniedNames = names.filter((n) => !may(n));
    const deniedTopics = topics.filter((t) => !may(nameOf(t)));
    if (deniedNames.length + deniedTopics.length === 0) return { req };
    return {
      req: { ...req, topicNames: names.filter((n) => may(n)), topics: topics.filter((t) => may(nameOf(t))) },
      finish: (resp) => resp && {
        ...resp,
        responses: [
          ...resp.responses,
          ...deniedNames.map((name) => ({ name, errorCode: TOPIC_DENIED })),
          ...deniedTopics.map((t) => ({ name: nameOf(t), topicId: t.topicId, errorCode: TOPIC_DENIED })),
        ],
      },
    };
  },
  [ApiKey.CreatePartitions]: (g, req) => split(req, 'topics', (t: Req) => g.can(Op.ALTER, Res.TOPIC, t.name), 'results',
    (topics) => createPartitionsError({ ...req, topics }, TOPIC_DENIED).results),
  [ApiKey.DescribeConfigs]: (g, req) => {
    const allowed = (r: Req) => (r.resourceType === 2 ? g.can(Op.DESCRIBE_CONFIGS, Res.TOPIC, r.resourceName)
      : r.resourceType === 4 ? g.can(Op.DESCRIBE_CONFIGS, Res.CLUSTER, CLUSTER_NAME) : true);
    return split(req, 'resources', allowed, 'results', (resources: Req[]) => resources.map((r) => ({
      errorCode: r.resourceType === 2 ? TOPIC_DENIED : CLUSTER_DENIED, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [],
    })));
  },
  [ApiKey.DeleteRecords]: (g, req) => split(req, 'topics', (t: Req) => g.can(Op.DELETE, Res.TOPIC, t.name), 'topics',
    (topics: Req[]) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: TOPIC_DENIED })) }))),
  [ApiKey.DescribeProducers]: (g, req) => split(req, 'topics', (t: Req) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
    (topics: Req[]) => topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex: number) => ({ partitionIndex, errorCode: TOPIC_DENIED, errorMessage: null, activeProducers: [] })) }))),
  [ApiKey.AlterConfigs]: alterConfigsRule,
  [ApiKey.ElectLeaders]: onCluster(Op.ALTER, () => ({ errorCode: CLUSTER_DENIED, replicaElectionResults: [] })),
  [ApiKey.DescribeLogDirs]: onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, results: [] })),
  [ApiKey.AlterPartitionReassignments]: onCluster(Op.ALTER, (req) => ({
    errorCode: CLUSTER_DENIED, errorMessage: null,
    responses: req.topics.map((t: Req) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode: CLUSTER_DENIED, errorMessage: null })) })),
  })),
  [ApiKey.ListPartitionReassignments]: onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, topics: [] })),
  [ApiKey.IncrementalAlterConfigs]: alterConfigsRule,
  [ApiKey.DescribeCluster]: onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, clusterId: '', controllerId: -1, brokers: [] })),

  [ApiKey.FindCoordinator]: (g, req, h) => {
    const type = req.keyType === 1 ? Res.TRANSACTIONAL_ID : Res.GROUP;
    const code = req.keyType === 1 ? TXN_DENIED : GROUP_DENIED;
    const may = (key: string) => g.can(Op.DESCRIBE, type, key);
    if (h.apiVersion < 4) return may(req.key) ? { req } : { answer: { errorCode: code, errorMessage: null, nodeId: -1, host: '', port: -1 } };
    return split(req, 'coordinatorKeys', may, 'coordinators',
      (keys: string[]) => keys.map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode: code, errorMessage: null })));
  },
  [ApiKey.JoinGroup]: onGroup(Op.READ),
  [ApiKey.SyncGroup]: onGroup(Op.READ),
  [ApiKey.Heartbeat]: onGroup(Op.READ),
  [ApiKey.LeaveGroup]: onGroup(Op.READ),
  [ApiKey.OffsetCommit]: (g, req, _h, refuse) => {
    if (!g.can(Op.READ, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
    return split(req, 'topics', (t: Req) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
      (topics: Req[]) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode: TOPIC_DENIED })) })));
  },
  [ApiKey.OffsetFetch]: (g, req, h, refuse) => {
    // Topics the principal may not describe: hidden from "all topics", refused when named.
    const topicsFor = (topics: Resp[], named: boolean): Resp[] => (named
      ? topics.map((t) => (g.can(Op.DESCRIBE, Res.TOPIC, t.name) ? t
        : { ...t, partitions: t.partitions.map((p: Resp) => ({ ...p, committedOffset: -1, metadata: null, errorCode: TOPIC_DENIED })) }))
      : topics.filter((t) => g.can(Op.DESCRIBE, Res.TOPIC, t.name)));
    if (h.apiVersion < 8) {
      if (!g.can(Op.DESCRIBE, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
      return { req, finish: (resp) => resp && { ...resp, topics: topicsFor(resp.topics, req.topics !== null) } };
    }
    const named = new Map<string, boolean>((req.groups as Req[]).map((gr) => [gr.groupId, gr.topics !== null]));
    const guard = split(req, 'groups', (gr: Req) => g.can(Op.DESCRIBE, Res.GROUP, gr.groupId), 'groups',
      (groups: Req[]) => groups.map((gr) => ({ groupId: gr.groupId, topics: [], errorCode: GROUP_DENIED })));
    const filtered = 'req' in guard ? guard.req : req;
    const after = 'req' in guard ? guard.finish : undefined;
    return {
      req: filtered,
      finish: (resp) => {
        if (resp === null) return null;
        const shown = { ...resp, groups: (resp.groups as Resp[]).map((gr) => ({ ...gr, topics: topicsFor(gr.topics, named.get(gr.groupId) ?? false) })) };
        return after ? after(shown) : shown;
      },
    };
  },
  [ApiKey.ListGroups]: (g, req) => (g.can(Op.DESCRIBE, Res.CLUSTER, CLUSTER_NAME) ? { req }
    : { req, finish: (resp) => resp && { ...resp, groups: (resp.groups as Resp[]).filter((gr) => g.can(Op.DESCRIBE, Res.GROUP, gr.groupId)) } }),
  [ApiKey.DescribeGroups]: (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      groups: (resp.groups as Resp[]).map((gr) => (g.can(Op.DESCRIBE, Res.GROUP, gr.groupId) ? gr
        : { groupId: gr.groupId, errorCode: GROUP_DENIED, groupState: '', protocolType: '', protocolData: '', members: [] })),
    },
  }),
  [ApiKey.ConsumerGroupHeartbeat]: onGroup(Op.READ),
  [ApiKey.ConsumerGroupDescribe]: (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      groups: (resp.groups as Resp[]).map((gr) => (g.can(Op.DESCRIBE, Res.GROUP, gr.groupId) ? gr
        : { ...gr, errorCode: GROUP_DENIED, errorMessage: null, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] })),
    },
  }),
  [ApiKey.OffsetDelete]: (g, req, _h, refuse) => {
    if (!g.can(Op.DELETE, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
    return split(req, 'topics', (t: Req) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
      (topics: Req[]) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode: TOPIC_DENIED })) })));
  },
  [ApiKey.DeleteGroups]: (g, req) => split(req, 'groupsNames', (id: string) => g.can(Op.DELETE, Res.GROUP, id), 'results',
    (ids: string[]) => ids.map((groupId) => ({ groupId, errorCode: GROUP_DENIED }))),

  [ApiKey.InitProducerId]: (g, req) => {
    if (req.transactionalId != null) {
      return g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? { req } : { answer: { errorCode: TXN_DENIED, producerId: -1, producerEpoch: -1 } };
    }
    const idempotent = g.can(Op.IDEMPOTENT_WRITE, Res.CLUSTER, CLUSTER_NAME) || g.canAny(Op.WRITE, Res.TOPIC);
    return idempotent ? { req } : { answer: { errorCode: CLUSTER_DENIED, producerId: -1, producerEpoch: -1 } };
  },
  [ApiKey.AddPartitionsToTxn]: (g, req, h, refuse) => {
    if (h.apiVersion >= 4) return onCluster(Op.CLUSTER_ACTION, () => ({ errorCode: CLUSTER_DENIED, resultsByTransaction: [] }))(g, req, h, refuse);
    const txnOk = g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.v3AndBelowTransactionalId);
    const topics = req.v3AndBelowTopics as Req[];
    const topicOk = (name: string) => g.can(Op.WRITE, Res.TOPIC, name);
    if (txnOk && topics.every((t) => topicOk(t.name))) return { req };
    return {
      answer: {
        resultsByTopicV3AndBelow: topics.map((t) => ({
          name: t.name,
          resultsByPartition: (t.partitions as number[]).map((partitionIndex) => ({
            partitionIndex, partitionErrorCode: !txnOk ? TXN_DENIED : topicOk(t.name) ? ErrorCode.OPERATION_NOT_ATTEMPTED : TOPIC_DENIED,
          })),
        })),
      },
    };
  },
  [ApiKey.AddOffsetsToTxn]: (g, req) => {
    if (!g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)) return { answer: { errorCode: TXN_DENIED } };
    return g.can(Op.READ, Res.GROUP, req.groupId) ? { req } : { answer: { errorCode: GROUP_DENIED } };
  },
  [ApiKey.EndTxn]: (g, req) => (g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? { req } : { answer: { errorCode: TXN_DENIED } }),
  [ApiKey.TxnOffsetCommit]: (g, req) => {
    const code = !g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? TXN_DENIED
      : !g.can(Op.READ, Res.GROUP, req.groupId) ? GROUP_DENIED : ErrorCode.NONE;
    const answer = (topicCode: (name: string) => number) => ({
      topics: (req.topics as Req[]).map((t) => ({ name: t.name, partitions: t.partitions.map((p: Req) => ({ partitionIndex: p.partitionIndex, errorCode: topicCode(t.name) })) })),
    });
    if (code !== ErrorCode.NONE) return { answer: answer(() => code) };
    return split(req, 'topics', (t: Req) => g.can(Op.READ, Res.TOPIC, t.name), 'topics', (topics: Req[]) => answer(() => TOPIC_DENIED).topics.filter((t) => topics.some((d) => d.name === t.name)));
  },
  [ApiKey.WriteTxnMarkers]: onCluster(Op.CLUSTER_ACTION, (req) => ({
    markers: (req.markers as Req[]).map((m) => ({
      producerId: m.producerId,
      topics: (m.topics as Req[]).map((t) => ({ name: t.name, partitions: (t.partitionIndexes as number[]).map((partitionIndex) => ({ partitionIndex, errorCode: CLUSTER_DENIED })) })),
    })),
  })),
  [ApiKey.DescribeTransactions]: (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      transactionStates: (resp.transactionStates as Resp[]).map((s) => (g.can(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s.transactionalId) ? s
        : { errorCode: TXN_DENIED, transactionalId: s.transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] })),
    },
  }),
  [ApiKey.ListTransactions]: (g, req) => ({
    req,
    finish: (resp) => resp && { ...resp, transactionStates: (resp.transactionStates as Resp[]).filter((s) => g.can(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s.transactionalId)) },
  }),

  [ApiKey.DescribeClientQuotas]: onCluster(Op.DESCRIBE_CONFIGS, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, entries: null })),
  [ApiKey.DescribeUserScramCredentials]: onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, results: [] })),
  [ApiKey.AlterUserScramCredentials]: onCluster(Op.ALTER, (req) => ({
    results: [...new Set([...req.deletions, ...req.upsertions].map((c: Req) => c.name as string))].map((user) => ({ user, errorCode: CLUSTER_DENIED, errorMessage: null })),
  })),
  [ApiKey.CreateAcls]: onCluster(Op.ALTER, (req) => ({ results: (req.creations as Req[]).map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: null })) })),
  [ApiKey.DeleteAcls]: onCluster(Op.ALTER, (req) => ({ filterResults: (req.filters as Req[]).map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: null, matchingAcls: [] })) })),
  [ApiKey.DescribeAcls]: onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, resources: [] })),
};

/** The APIs with a rule (every API the broker serves must be among them). */
export const AUTHORIZED_APIS: ReadonlySet<number> = new Set(Object.keys(RULES).map(Number));

export function guardRequest(g: AuthorizationView, req: Req, h: RequestHeaderInfo, refuse: Refusal): Guard {
  const rule = RULES[h.apiKey];
  if (rule === undefined) return { answer: refuse(req, CLUSTER_DENIED) };
  return rule(g, req, h, refuse);
}
