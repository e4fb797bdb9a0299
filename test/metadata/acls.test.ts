// ACLs in the metadata log: the controller's CreateAcls checks (invalid bindings refused, an
// identical binding stored once), DeleteAcls filters (literal, ANY, MATCH), and the bindings
// surviving the log encoding and a snapshot. Also: every API the broker serves has an
// authorization rule.
import t from 'tap';
import { AclOperation as Op, AclPermission as Perm, PatternType as Pat, ResourceType as Res, type AclBinding } from '../../src/shared/acl.js';
import { ErrorCode } from '../../src/shared/errors.js';
import { SUPPORTED_APIS } from '../../src/main/api-table.js';
import { AUTHORIZED_APIS, guardRequest, type AuthorizationView } from '../../src/main/security/api-authorization.js';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { decodeBatch, encodeBatch } from '../../src/workers/raft/metadata/records.js';
import { cluster, commit } from './fixtures/cluster.js';

const b = (p: Partial<AclBinding>): AclBinding => ({
  resourceType: Res.TOPIC, resourceName: 'orders', patternType: Pat.LITERAL, principal: 'User:alice', host: '*', operation: Op.READ, permissionType: Perm.ALLOW, ...p,
});
const any = { resourceType: Res.ANY, resourceName: null, patternType: Pat.ANY, principal: null, host: null, operation: Op.ANY, permissionType: Perm.ANY };

t.test('CreateAcls and DeleteAcls decisions', async (t) => {
  const c = cluster(1);
  const created = c.controller.createAcls({
    creations: [b({}), b({}), b({ resourceName: 'logs-', patternType: Pat.PREFIXED }), b({ patternType: Pat.MATCH }), b({ principal: 'alice' }), b({ operation: Op.ANY })],
  });
  t.same(created.result.map((r) => r.errorCode), [0, 0, 0, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST], 'invalid pattern, principal and operation refused');
  t.equal(created.records.length, 2, 'the duplicate binding is stored once');
  commit(c.image, decodeBatch(encodeBatch(created.records)));
  t.equal(c.controller.createAcls({ creations: [b({})] }).records.length, 0, 'an existing binding is not stored again');

  const match = c.controller.deleteAcls({ filters: [{ ...any, resourceType: Res.TOPIC, resourceName: 'logs-x', patternType: Pat.MATCH }] });
  t.same(match.result[0]!.deleted!.map((d) => d.resourceName), ['logs-'], 'a MATCH filter finds the prefixed binding that applies to logs-x');
  const restored = MetadataImage.fromSnapshot(c.image.encodeSnapshot());
  t.equal(restored.acls.size, 2, 'a snapshot keeps the ACLs');
  const all = c.controller.deleteAcls({ filters: [any, any] });
  t.equal(all.records.length, 2, 'each binding is removed once even when two filters match it');
  t.same(all.result.map((r) => r.deleted!.length), [2, 2], 'and reported by every filter that matched');
  commit(c.image, all.records);
  t.equal(c.image.acls.size, 0, 'no ACL left');
});

t.test('every served API has an authorization rule', async (t) => {
  const missing = [...SUPPORTED_APIS.keys()].filter((k) => !AUTHORIZED_APIS.has(k));
  t.same(missing, [], 'no API is served without being checked');
});

t.test('DescribeProducers needs READ on each topic', async (t) => {
  const g = { can: (op: number, type: number, name: string) => op === Op.READ && type === Res.TOPIC && name === 'orders' } as AuthorizationView;
  const req = { topics: [{ name: 'orders', partitionIndexes: [0] }, { name: 'payroll', partitionIndexes: [0, 1] }] };
  const guard = guardRequest(g, req, { apiKey: ApiKey.DescribeProducers, apiVersion: 0, correlationId: 1, clientId: null, headerLength: 0 }, () => ({}));
  if (!('req' in guard)) return t.fail('the readable topic goes through');
  t.same(guard.req, { topics: [{ name: 'orders', partitionIndexes: [0] }] }, 'only the readable topic reaches the handler');
  t.same(guard.finish!({ throttleTimeMs: 0, topics: [] }), {
    throttleTimeMs: 0,
    topics: [{ name: 'payroll', partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, activeProducers: [] })) }],
  }, 'the other is answered TOPIC_AUTHORIZATION_FAILED');
});
