// The StandardAuthorizer decision, driven directly with ACL lists: literal, wildcard and
// prefixed patterns, deny beating allow, implied DESCRIBE, hosts, super users,
// allow.everyone.if.no.acl.found, and the any-resource check idempotent producers get.
import t from 'tap';
import { AclOperation as Op, AclPermission as Perm, PatternType as Pat, ResourceType as Res, type AclBinding } from '../../src/shared/acl.js';
import { Authorizer } from '../../src/shared/authorizer.js';

const acl = (p: Partial<AclBinding>): AclBinding => ({
  resourceType: Res.TOPIC, resourceName: 'orders', patternType: Pat.LITERAL, principal: 'User:alice', host: '*',
  operation: Op.READ, permissionType: Perm.ALLOW, ...p,
});
const settings = { superUsers: new Set(['User:admin']), allowEveryoneIfNoAclFound: false };
const can = (z: Authorizer, principal: string, operation: number, name: string, resourceType: number = Res.TOPIC, host = '10.0.0.1') =>
  z.authorize({ principal, host, operation, resourceType, resourceName: name });

t.test('literal, wildcard and prefixed patterns', async (t) => {
  const z = new Authorizer([
    acl({ operation: Op.WRITE }),
    acl({ resourceName: 'logs-', patternType: Pat.PREFIXED, operation: Op.READ }),
    acl({ resourceName: '*', principal: 'User:bob', operation: Op.DESCRIBE }),
  ], settings);
  t.ok(can(z, 'User:alice', Op.WRITE, 'orders'), 'literal WRITE');
  t.notOk(can(z, 'User:alice', Op.READ, 'orders'), 'WRITE does not give READ');
  t.ok(can(z, 'User:alice', Op.DESCRIBE, 'orders'), 'WRITE implies DESCRIBE');
  t.ok(can(z, 'User:alice', Op.READ, 'logs-app1'), 'a prefixed ACL grants the family');
  t.notOk(can(z, 'User:alice', Op.READ, 'log'), 'but not a shorter name');
  t.ok(can(z, 'User:bob', Op.DESCRIBE, 'anything'), 'wildcard literal');
  t.notOk(can(z, 'User:carol', Op.DESCRIBE, 'orders'), 'another principal gets nothing');
  t.ok(can(z, 'User:admin', Op.DELETE, 'orders'), 'a super user may do anything');
});

t.test('deny beats allow; hosts; ALL', async (t) => {
  const z = new Authorizer([
    acl({ operation: Op.ALL }),
    acl({ resourceName: 'ord', patternType: Pat.PREFIXED, operation: Op.WRITE, permissionType: Perm.DENY }),
    acl({ resourceName: 'audit', principal: 'User:*', operation: Op.READ }),
    acl({ resourceName: 'audit', principal: 'User:*', host: '10.0.0.9', operation: Op.ALL, permissionType: Perm.DENY }),
  ], settings);
  t.ok(can(z, 'User:alice', Op.READ, 'orders'), 'ALL allows READ');
  t.notOk(can(z, 'User:alice', Op.WRITE, 'orders'), 'a prefixed DENY beats the literal ALLOW ALL');
  t.ok(can(z, 'User:zed', Op.READ, 'audit'), 'User:* matches any user');
  t.notOk(can(z, 'User:zed', Op.READ, 'audit', Res.TOPIC, '10.0.0.9'), 'the DENY for one host applies there');
});

t.test('allow.everyone.if.no.acl.found and resource types', async (t) => {
  const acls = [acl({ resourceType: Res.GROUP, resourceName: 'g1' })];
  const closed = new Authorizer(acls, settings);
  const open = new Authorizer(acls, { ...settings, allowEveryoneIfNoAclFound: true });
  t.notOk(can(closed, 'User:x', Op.READ, 'free-topic'), 'no ACL: denied by default');
  t.ok(can(open, 'User:x', Op.READ, 'free-topic'), 'no ACL: allowed with allow.everyone.if.no.acl.found');
  t.notOk(can(open, 'User:x', Op.READ, 'g1', Res.GROUP), 'an ACL on the resource, none for the principal: denied even then');
  t.ok(can(open, 'User:alice', Op.READ, 'g1', Res.GROUP), 'group ACL');
  t.notOk(can(closed, 'User:alice', Op.READ, 'g1'), 'a group ACL says nothing about a topic of that name');
});

t.test('authorizeAny: some topic writable', async (t) => {
  const z = new Authorizer([
    acl({ resourceName: 'a-', patternType: Pat.PREFIXED, operation: Op.WRITE }),
    acl({ principal: 'User:bob', resourceName: 'b', operation: Op.WRITE }),
    acl({ principal: 'User:bob', resourceName: '*', operation: Op.WRITE, permissionType: Perm.DENY }),
  ], settings);
  t.ok(z.authorizeAny('User:alice', 'h', Op.WRITE, Res.TOPIC), 'alice may write some topic');
  t.notOk(z.authorizeAny('User:bob', 'h', Op.WRITE, Res.TOPIC), 'bob\'s allow is covered by a wildcard deny');
  t.notOk(z.authorizeAny('User:carol', 'h', Op.WRITE, Res.TOPIC), 'carol has none');
});
