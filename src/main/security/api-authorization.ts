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
import type { Encodable } from '../../shared/protocol/codec.js';
import { ApiKey } from '../../shared/protocol/generated/api-keys.js';
import type { ApiMessages, RequestOf, ResponseOf } from '../../shared/protocol/generated/codecs.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import { createPartitionsError, createTopicsError, fetchError, listOffsetsError, metadataError, produceError } from '../error-responses.js';
import type { MetadataCache } from '../metadata-cache.js';

type Key = keyof ApiMessages;
/** API K's response as its handler gives it: any field may be left at its default. */
type Answer<K extends Key> = Encodable<ResponseOf<K>>;

export interface AuthorizationView {
  can(operation: number, resourceType: number, name: string): boolean;
  canAny(operation: number, resourceType: number): boolean;
  metadata: MetadataCache;
}

/**
 * What a rule decides for request Q with response R: answer it at once, or let it (or what is
 * left of it) through, with `finish` to put the refused items into the handler's response.
 * `finish` is a method so that every API's guard is a `Guard`, as `ServedApi` holds every API.
 */
type GuardOf<Q, R> = { answer: R } | { req: Q; finish?(resp: R | null): R | null };

/** A rule's decision as the dispatcher sees it, whatever the API. */
export type Guard = GuardOf<object, object>;

type GuardFor<K extends Key> = GuardOf<RequestOf<K>, Answer<K>>;

type CheckOf<Q, R> = (g: AuthorizationView, req: Q, h: RequestHeaderInfo, refuse: (req: Q, errorCode: number) => R) => GuardOf<Q, R>;
/** API K's check, given the request its codec decoded and the API's own answer to a request refused as a whole. */
type Check<K extends Key> = CheckOf<RequestOf<K>, Answer<K>>;

/** API K's rule: its check sees the request and the response that API K's codecs carry. */
interface Rule<K extends Key> {
  readonly apiKey: K;
  check: Check<K>;
}

/**
 * A rule as `guardRequest` sees it, whatever its key. `guardRequest` gives it the request the
 * codec of the same API key decoded and that API's error answer, which is why one type can hold
 * every rule: the method takes them as `unknown` and TypeScript compares method parameters both
 * ways, so each `Rule<K>` is one.
 */
interface KeyedRule {
  readonly apiKey: number;
  check(g: AuthorizationView, req: unknown, h: RequestHeaderInfo, refuse: (req: unknown, errorCode: number) => object): Guard;
}

function rule<K extends Key>(apiKey: K, check: Check<K>): Rule<K> {
  return { apiKey, check };
}

const TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
const GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED;
const CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;

function pass<Q, R>(_g: AuthorizationView, req: Q): GuardOf<Q, R> {
  return { req };
}

function onCluster<K extends Key>(op: number, refuse: (req: RequestOf<K>) => Answer<K>): Check<K> {
  return (g, req) => (g.can(op, Res.CLUSTER, CLUSTER_NAME) ? { req } : { answer: refuse(req) });
}

/** A rule for an API acting on one group named in `groupId`. */
function onGroup<Q extends { groupId: string }, R>(op: number): CheckOf<Q, R> {
  return (g, req, _h, refuse) => (g.can(op, Res.GROUP, req.groupId) ? { req } : { answer: refuse(req, GROUP_DENIED) });
}

/** The keys of T that hold a list (or null). */
type ListKey<T> = { [P in keyof T]-?: NonNullable<T[P]> extends readonly unknown[] ? P : never }[keyof T];
/** What the list at one of those keys holds. */
type ItemOf<L> = NonNullable<L> extends readonly (infer U)[] ? U : never;

/**
 * Takes the items the principal may not act on out of `req[listKey]` and appends their
 * error answers to `resp[respKey]` once the handler answered the rest.
 */
function split<Q extends object, R extends object, LK extends ListKey<Q>, RK extends ListKey<R>>(
  req: Q,
  listKey: LK,
  allowed: (item: ItemOf<Q[LK]>) => boolean,
  respKey: RK,
  denied: (items: ItemOf<Q[LK]>[]) => readonly ItemOf<R[RK]>[] | undefined,
): GuardOf<Q, R> {
  const items = (req[listKey] ?? []) as ItemOf<Q[LK]>[];
  const refused = items.filter((i) => !allowed(i));
  if (refused.length === 0) return { req };
  return {
    // The list keeps its own type: only some of its items are left out.
    req: { ...req, [listKey]: items.filter(allowed) } as Q,
    finish: (resp) => {
      if (resp === null) return null;
      const answered = (resp[respKey] ?? []) as readonly ItemOf<R[RK]>[];
      return { ...resp, [respKey]: [...answered, ...(denied(refused) ?? [])] } as R;
    },
  };
}

/** Fetch v13+ names topics by id: the name the authorizer needs (unknown ids go on to the handler's own error). */
function fetchTopicName(g: AuthorizationView, t: { topic: string; topicId: string }): string | null {
  return t.topic !== '' && t.topic !== undefined ? t.topic : (g.metadata.topicById(t.topicId)?.name ?? null);
}

function mayCreateTopic(g: AuthorizationView, name: string): boolean {
  return g.can(Op.CREATE, Res.CLUSTER, CLUSTER_NAME) || g.can(Op.CREATE, Res.TOPIC, name);
}

interface ConfigResource {
  resourceType: number;
  resourceName: string;
}

/** AlterConfigs and IncrementalAlterConfigs: ALTER_CONFIGS on the topic, or on the cluster for broker configs. */
function configsAlterable(g: AuthorizationView): (r: ConfigResource) => boolean {
  return (r) => (r.resourceType === Res.TOPIC ? g.can(Op.ALTER_CONFIGS, Res.TOPIC, r.resourceName) : g.can(Op.ALTER_CONFIGS, Res.CLUSTER, CLUSTER_NAME));
}

function configsAlterDenied(resources: ConfigResource[]) {
  return resources.map((r) => ({
    errorCode: r.resourceType === Res.TOPIC ? TOPIC_DENIED : CLUSTER_DENIED, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName,
  }));
}

const RULES: readonly KeyedRule[] = [
  rule(ApiKey.ApiVersions, pass),
  rule(ApiKey.SaslHandshake, pass),
  rule(ApiKey.SaslAuthenticate, pass),

  rule(ApiKey.Produce, (g, req) => {
    if (req.transactionalId != null && !g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)) {
      return { answer: produceError(req, TXN_DENIED) };
    }
    // A produce to an unknown topic creates it (auto.create.topics.enable): that takes CREATE too.
    const allowed = (t: { name: string }) => g.can(Op.WRITE, Res.TOPIC, t.name) && (g.metadata.topic(t.name) !== undefined || mayCreateTopic(g, t.name));
    return split(req, 'topicData', allowed, 'responses',
      (topics) => produceError({ ...req, topicData: topics }, TOPIC_DENIED).responses);
  }),
  rule(ApiKey.Fetch, (g, req) => {
    const replicaId = req.replicaState?.replicaId >= 0 ? req.replicaState.replicaId : req.replicaId;
    if (replicaId >= 0) {
      return g.can(Op.CLUSTER_ACTION, Res.CLUSTER, CLUSTER_NAME) ? { req } : { answer: { ...fetchError(req, TOPIC_DENIED), errorCode: CLUSTER_DENIED } };
    }
    return split(req, 'topics', (t) => {
      const name = fetchTopicName(g, t);
      return name === null || g.can(Op.READ, Res.TOPIC, name);
    }, 'responses', (topics) => fetchError({ ...req, topics }, TOPIC_DENIED).responses);
  }),
  rule(ApiKey.ListOffsets, (g, req) => split(req, 'topics', (t) => g.can(Op.DESCRIBE, Res.TOPIC, t.name), 'topics',
    (topics) => listOffsetsError({ ...req, topics }, TOPIC_DENIED).topics)),
  rule(ApiKey.Metadata, (g, req, h) => {
    const describable = (name: string) => g.can(Op.DESCRIBE, Res.TOPIC, name);
    // Only an unknown topic id is answered without a name, and always with an error.
    const hide = (resp: Answer<typeof ApiKey.Metadata> | null) => (resp === null ? null
      : { ...resp, topics: (resp.topics ?? []).filter((t) => t.errorCode !== 0 || (t.name != null && describable(t.name))) });
    if (req.topics === null || req.topics.length === 0) return { req, finish: hide };
    const autoCreate = h.apiVersion < 4 || req.allowAutoTopicCreation;
    const allowed = (t: { name: string | null }) => t.name === null
      || (describable(t.name) && (g.metadata.topic(t.name) !== undefined || !autoCreate || mayCreateTopic(g, t.name)));
    return split(req, 'topics', allowed, 'topics', (topics) => metadataError({ ...req, topics }, TOPIC_DENIED).topics);
  }),
  rule(ApiKey.CreateTopics, (g, req) => split(req, 'topics', (t) => mayCreateTopic(g, t.name), 'topics',
    (topics) => createTopicsError({ ...req, topics }, TOPIC_DENIED).topics)),
  rule(ApiKey.DeleteTopics, (g, req) => {
    // v0-5 name topics in `topicNames`, v6+ in `topics` (by name or by id).
    const nameOf = (t: { name: string | null; topicId: string }): string | undefined => (t.name ? t.name : g.metadata.topicById(t.topicId)?.name);
    const may = (name: string | undefined) => name === undefined || g.can(Op.DELETE, Res.TOPIC, name);
    const names = req.topicNames ?? [];
    const topics = req.topics ?? [];
    const deniedNames = names.filter((n) => !may(n));
    const deniedTopics = topics.filter((t) => !may(nameOf(t)));
    if (deniedNames.length + deniedTopics.length === 0) return { req };
    return {
      req: { ...req, topicNames: names.filter((n) => may(n)), topics: topics.filter((t) => may(nameOf(t))) },
      finish: (resp) => resp && {
        ...resp,
        responses: [
          ...(resp.responses ?? []),
          ...deniedNames.map((name) => ({ name, errorCode: TOPIC_DENIED })),
          ...deniedTopics.map((t) => ({ name: nameOf(t), topicId: t.topicId, errorCode: TOPIC_DENIED })),
        ],
      },
    };
  }),
  rule(ApiKey.CreatePartitions, (g, req) => split(req, 'topics', (t) => g.can(Op.ALTER, Res.TOPIC, t.name), 'results',
    (topics) => createPartitionsError({ ...req, topics }, TOPIC_DENIED).results)),
  rule(ApiKey.DescribeConfigs, (g, req) => {
    const allowed = (r: ConfigResource) => (r.resourceType === 2 ? g.can(Op.DESCRIBE_CONFIGS, Res.TOPIC, r.resourceName)
      : r.resourceType === 4 ? g.can(Op.DESCRIBE_CONFIGS, Res.CLUSTER, CLUSTER_NAME) : true);
    return split(req, 'resources', allowed, 'results', (resources) => resources.map((r) => ({
      errorCode: r.resourceType === 2 ? TOPIC_DENIED : CLUSTER_DENIED, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [],
    })));
  }),
  rule(ApiKey.DeleteRecords, (g, req) => split(req, 'topics', (t) => g.can(Op.DELETE, Res.TOPIC, t.name), 'topics',
    (topics) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: TOPIC_DENIED })) })))),
  rule(ApiKey.DescribeProducers, (g, req) => split(req, 'topics', (t) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
    (topics) => topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: TOPIC_DENIED, errorMessage: null, activeProducers: [] })) })))),
  rule(ApiKey.AlterConfigs, (g, req) => split(req, 'resources', configsAlterable(g), 'responses', configsAlterDenied)),
  rule(ApiKey.ElectLeaders, onCluster(Op.ALTER, () => ({ errorCode: CLUSTER_DENIED, replicaElectionResults: [] }))),
  rule(ApiKey.DescribeLogDirs, onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, results: [] }))),
  rule(ApiKey.AlterPartitionReassignments, onCluster(Op.ALTER, (req) => ({
    errorCode: CLUSTER_DENIED, errorMessage: null,
    responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: CLUSTER_DENIED, errorMessage: null })) })),
  }))),
  rule(ApiKey.ListPartitionReassignments, onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, topics: [] }))),
  rule(ApiKey.IncrementalAlterConfigs, (g, req) => split(req, 'resources', configsAlterable(g), 'responses', configsAlterDenied)),
  rule(ApiKey.DescribeCluster, onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, clusterId: '', controllerId: -1, brokers: [] }))),

  rule(ApiKey.FindCoordinator, (g, req, h) => {
    const type = req.keyType === 1 ? Res.TRANSACTIONAL_ID : Res.GROUP;
    const code = req.keyType === 1 ? TXN_DENIED : GROUP_DENIED;
    const may = (key: string) => g.can(Op.DESCRIBE, type, key);
    if (h.apiVersion < 4) return may(req.key) ? { req } : { answer: { errorCode: code, errorMessage: null, nodeId: -1, host: '', port: -1 } };
    return split(req, 'coordinatorKeys', may, 'coordinators',
      (keys) => keys.map((key) => ({ key, nodeId: -1, host: '', port: -1, errorCode: code, errorMessage: null })));
  }),
  rule(ApiKey.JoinGroup, onGroup(Op.READ)),
  rule(ApiKey.SyncGroup, onGroup(Op.READ)),
  rule(ApiKey.Heartbeat, onGroup(Op.READ)),
  rule(ApiKey.LeaveGroup, onGroup(Op.READ)),
  rule(ApiKey.OffsetCommit, (g, req, _h, refuse) => {
    if (!g.can(Op.READ, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
    return split(req, 'topics', (t) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
      (topics) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: TOPIC_DENIED })) })));
  }),
  rule(ApiKey.OffsetFetch, (g, req, h, refuse) => {
    // Topics the principal may not describe: hidden from "all topics", refused when named.
    const topicsFor = (topics: NonNullable<Answer<typeof ApiKey.OffsetFetch>['topics']>, named: boolean) => (named
      ? topics.map((t) => (g.can(Op.DESCRIBE, Res.TOPIC, t.name ?? '') ? t
        : { ...t, partitions: (t.partitions ?? []).map((p) => ({ ...p, committedOffset: -1, metadata: null, errorCode: TOPIC_DENIED })) }))
      : topics.filter((t) => g.can(Op.DESCRIBE, Res.TOPIC, t.name ?? '')));
    if (h.apiVersion < 8) {
      if (!g.can(Op.DESCRIBE, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
      return { req, finish: (resp) => resp && { ...resp, topics: topicsFor(resp.topics ?? [], req.topics !== null) } };
    }
    const named = new Map<string, boolean>(req.groups.map((gr) => [gr.groupId, gr.topics !== null]));
    const guard: GuardFor<typeof ApiKey.OffsetFetch> = split(req, 'groups', (gr) => g.can(Op.DESCRIBE, Res.GROUP, gr.groupId), 'groups',
      (groups) => groups.map((gr) => ({ groupId: gr.groupId, topics: [], errorCode: GROUP_DENIED })));
    const filtered = 'req' in guard ? guard.req : req;
    const after = 'req' in guard ? guard.finish : undefined;
    return {
      req: filtered,
      finish: (resp) => {
        if (resp === null) return null;
        const shown = { ...resp, groups: (resp.groups ?? []).map((gr) => ({ ...gr, topics: topicsFor(gr.topics ?? [], named.get(gr.groupId ?? '') ?? false) })) };
        return after ? after(shown) : shown;
      },
    };
  }),
  rule(ApiKey.ListGroups, (g, req) => (g.can(Op.DESCRIBE, Res.CLUSTER, CLUSTER_NAME) ? { req }
    : { req, finish: (resp) => resp && { ...resp, groups: (resp.groups ?? []).filter((gr) => g.can(Op.DESCRIBE, Res.GROUP, gr.groupId ?? '')) } })),
  rule(ApiKey.DescribeGroups, (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      groups: (resp.groups ?? []).map((gr) => (g.can(Op.DESCRIBE, Res.GROUP, gr.groupId ?? '') ? gr
        : { groupId: gr.groupId, errorCode: GROUP_DENIED, groupState: '', protocolType: '', protocolData: '', members: [] })),
    },
  })),
  rule(ApiKey.ConsumerGroupHeartbeat, onGroup(Op.READ)),
  rule(ApiKey.ConsumerGroupDescribe, (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      groups: (resp.groups ?? []).map((gr) => (g.can(Op.DESCRIBE, Res.GROUP, gr.groupId ?? '') ? gr
        : { ...gr, errorCode: GROUP_DENIED, errorMessage: null, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] })),
    },
  })),
  rule(ApiKey.OffsetDelete, (g, req, _h, refuse) => {
    if (!g.can(Op.DELETE, Res.GROUP, req.groupId)) return { answer: refuse(req, GROUP_DENIED) };
    return split(req, 'topics', (t) => g.can(Op.READ, Res.TOPIC, t.name), 'topics',
      (topics) => topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: TOPIC_DENIED })) })));
  }),
  rule(ApiKey.DeleteGroups, (g, req) => split(req, 'groupsNames', (id) => g.can(Op.DELETE, Res.GROUP, id), 'results',
    (ids) => ids.map((groupId) => ({ groupId, errorCode: GROUP_DENIED })))),

  rule(ApiKey.InitProducerId, (g, req) => {
    if (req.transactionalId != null) {
      return g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? { req } : { answer: { errorCode: TXN_DENIED, producerId: -1, producerEpoch: -1 } };
    }
    const idempotent = g.can(Op.IDEMPOTENT_WRITE, Res.CLUSTER, CLUSTER_NAME) || g.canAny(Op.WRITE, Res.TOPIC);
    return idempotent ? { req } : { answer: { errorCode: CLUSTER_DENIED, producerId: -1, producerEpoch: -1 } };
  }),
  rule(ApiKey.AddPartitionsToTxn, (g, req, h) => {
    if (h.apiVersion >= 4) {
      return g.can(Op.CLUSTER_ACTION, Res.CLUSTER, CLUSTER_NAME) ? { req } : { answer: { errorCode: CLUSTER_DENIED, resultsByTransaction: [] } };
    }
    const txnOk = g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.v3AndBelowTransactionalId);
    const topics = req.v3AndBelowTopics;
    const topicOk = (name: string) => g.can(Op.WRITE, Res.TOPIC, name);
    if (txnOk && topics.every((t) => topicOk(t.name))) return { req };
    return {
      answer: {
        resultsByTopicV3AndBelow: topics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((partitionIndex) => ({
            partitionIndex, partitionErrorCode: !txnOk ? TXN_DENIED : topicOk(t.name) ? ErrorCode.OPERATION_NOT_ATTEMPTED : TOPIC_DENIED,
          })),
        })),
      },
    };
  }),
  rule(ApiKey.AddOffsetsToTxn, (g, req) => {
    if (!g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId)) return { answer: { errorCode: TXN_DENIED } };
    return g.can(Op.READ, Res.GROUP, req.groupId) ? { req } : { answer: { errorCode: GROUP_DENIED } };
  }),
  rule(ApiKey.EndTxn, (g, req) => (g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? { req } : { answer: { errorCode: TXN_DENIED } })),
  rule(ApiKey.TxnOffsetCommit, (g, req) => {
    const code = !g.can(Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId) ? TXN_DENIED
      : !g.can(Op.READ, Res.GROUP, req.groupId) ? GROUP_DENIED : ErrorCode.NONE;
    const answer = (topicCode: (name: string) => number) => ({
      topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: topicCode(t.name) })) })),
    });
    if (code !== ErrorCode.NONE) return { answer: answer(() => code) };
    return split(req, 'topics', (t) => g.can(Op.READ, Res.TOPIC, t.name), 'topics', (topics) => answer(() => TOPIC_DENIED).topics.filter((t) => topics.some((d) => d.name === t.name)));
  }),
  rule(ApiKey.WriteTxnMarkers, onCluster(Op.CLUSTER_ACTION, (req) => ({
    markers: req.markers.map((m) => ({
      producerId: m.producerId,
      topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: CLUSTER_DENIED })) })),
    })),
  }))),
  rule(ApiKey.DescribeTransactions, (g, req) => ({
    req,
    finish: (resp) => resp && {
      ...resp,
      transactionStates: (resp.transactionStates ?? []).map((s) => (g.can(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s.transactionalId ?? '') ? s
        : { errorCode: TXN_DENIED, transactionalId: s.transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] })),
    },
  })),
  rule(ApiKey.ListTransactions, (g, req) => ({
    req,
    finish: (resp) => resp && { ...resp, transactionStates: (resp.transactionStates ?? []).filter((s) => g.can(Op.DESCRIBE, Res.TRANSACTIONAL_ID, s.transactionalId ?? '')) },
  })),

  rule(ApiKey.DescribeClientQuotas, onCluster(Op.DESCRIBE_CONFIGS, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, entries: null }))),
  rule(ApiKey.DescribeUserScramCredentials, onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, results: [] }))),
  rule(ApiKey.AlterUserScramCredentials, onCluster(Op.ALTER, (req) => ({
    results: [...new Set([...req.deletions, ...req.upsertions].map((c) => c.name))].map((user) => ({ user, errorCode: CLUSTER_DENIED, errorMessage: null })),
  }))),
  rule(ApiKey.CreateAcls, onCluster(Op.ALTER, (req) => ({ results: req.creations.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: null })) }))),
  rule(ApiKey.DeleteAcls, onCluster(Op.ALTER, (req) => ({ filterResults: req.filters.map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: null, matchingAcls: [] })) }))),
  rule(ApiKey.DescribeAcls, onCluster(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, resources: [] }))),
];

const RULE_BY_KEY: ReadonlyMap<number, KeyedRule> = new Map(RULES.map((r) => [r.apiKey, r]));

/** The APIs with a rule (every API the broker serves must be among them). */
export const AUTHORIZED_APIS: ReadonlySet<number> = new Set(RULE_BY_KEY.keys());

/** `req` is what the codec of `h.apiKey` decoded; `refuse` is that API's answer to a request refused as a whole. */
export function guardRequest(g: AuthorizationView, req: unknown, h: RequestHeaderInfo, refuse: (req: unknown, errorCode: number) => object): Guard {
  const rule = RULE_BY_KEY.get(h.apiKey);
  if (rule === undefined) return { answer: refuse(req, CLUSTER_DENIED) };
  return rule.check(g, req, h, refuse);
}
