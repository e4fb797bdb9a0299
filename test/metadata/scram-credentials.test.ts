// SCRAM credentials in the metadata log: the controller's checks on AlterUserScramCredentials
// (per user, all or nothing), the records surviving encoding and snapshots, and the published
// snapshot carrying salted keys only.
import t from 'tap';
import { ErrorCode } from '../../src/shared/errors.js';
import { MetadataImage } from '../../src/workers/raft/metadata/image.js';
import { decodeBatch, encodeBatch } from '../../src/workers/raft/metadata/records.js';
import { cluster, commit } from './fixtures/cluster.js';

const cred = (user: string, mechanism = 1, iterations = 4096) => ({ user, mechanism, iterations, salt: 'aa01', storedKey: 'bb02', serverKey: 'cc03' });

t.test('AlterUserScramCredentials decisions', async (t) => {
  const c = cluster(1);
  const first = c.controller.alterUserScramCredentials({ deletions: [], upsertions: [cred('alice'), cred('alice', 2, 8192), cred('bob')] });
  t.same(first.result.map((r) => [r.user, r.errorCode]), [['alice', 0], ['bob', 0]], 'both users accepted');
  t.equal(first.records.length, 3, 'one record per credential');
  commit(c.image, decodeBatch(encodeBatch(first.records)));
  t.same([...c.image.scram.values()].map((s) => [s.user, s.mechanism, s.iterations]), [['alice', 1, 4096], ['alice', 2, 8192], ['bob', 1, 4096]], 'the image holds them after a round trip through the log encoding');

  const mixed = c.controller.alterUserScramCredentials({
    deletions: [{ user: 'carol', mechanism: 1 }, { user: 'alice', mechanism: 2 }],
    upsertions: [cred('bob', 1, 100), cred('dave', 3), cred('', 1), cred('erin'), cred('erin')],
  });
  t.same(mixed.result.map((r) => [r.user, r.errorCode]), [
    ['carol', ErrorCode.RESOURCE_NOT_FOUND],
    ['alice', ErrorCode.NONE],
    ['bob', ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ['dave', ErrorCode.UNSUPPORTED_SASL_MECHANISM],
    ['', ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ['erin', ErrorCode.DUPLICATE_RESOURCE],
  ], 'each user gets its own error');
  t.same(mixed.records, [{ type: 'removeUserScramCredential', name: 'alice', mechanism: 2 }], 'only the valid user\'s change is written');
  commit(c.image, mixed.records);

  const restored = MetadataImage.fromSnapshot(c.image.encodeSnapshot());
  t.same([...restored.scram.keys()].sort(), ['1:alice', '1:bob'], 'a snapshot keeps the credentials');
  const published = restored.toMetadataSnapshot(1).scram;
  t.same(published.map((s) => Object.keys(s).sort()), [['iterations', 'mechanism', 'salt', 'serverKey', 'storedKey', 'user'], ['iterations', 'mechanism', 'salt', 'serverKey', 'storedKey', 'user']], 'published with salted keys and no password');
});
