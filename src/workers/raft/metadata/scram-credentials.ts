/**
 * AlterUserScramCredentials (Kafka's ScramControlManager): SCRAM credential changes, checked
 * as Kafka's controller checks them: a known mechanism, a name, an iteration count in
 * [4096, 16384], one change per user and mechanism, and a credential to delete. A user with
 * any bad change gets its error and none of its changes.
 */
import { ErrorCode } from '../../../shared/errors.js';
import type { AlterScramRequest, UserResult } from '../../../shared/metadata-types.js';
import { scramKey, type MetadataImage } from './image.js';
import type { Decision, MetadataRecord } from './records.js';

export function decideAlterScramCredentials(image: MetadataImage, req: Pick<AlterScramRequest, 'deletions' | 'upsertions'>): Decision<UserResult[]> {
  const errors = new Map<string, [number, string]>();
  const fail = (user: string, code: number, message: string): void => {
    if (!errors.has(user)) errors.set(user, [code, message]);
  };
  const seen = new Set<string>();
  const users: string[] = [];
  for (const change of [...req.deletions, ...req.upsertions]) {
    if (!users.includes(change.user)) users.push(change.user);
    const key = scramKey(change.mechanism, change.user);
    if (seen.has(key)) fail(change.user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
    seen.add(key);
    if (change.user === '') fail(change.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
    if (change.mechanism !== 1 && change.mechanism !== 2) fail(change.user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
  }
  for (const d of req.deletions) {
    if (!image.scram.has(scramKey(d.mechanism, d.user))) {
      fail(d.user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
    }
  }
  for (const u of req.upsertions) {
    if (u.iterations < 4096) fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
    if (u.iterations > 16384) fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
    if (!/^([0-9a-f]{2})+$/.test(u.salt) || !/^([0-9a-f]{2})+$/.test(u.storedKey) || !/^([0-9a-f]{2})+$/.test(u.serverKey)) {
      fail(u.user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Malformed credential');
    }
  }
  const records: MetadataRecord[] = [];
  for (const d of req.deletions) {
    if (!errors.has(d.user)) records.push({ type: 'removeUserScramCredential', name: d.user, mechanism: d.mechanism });
  }
  for (const u of req.upsertions) {
    if (errors.has(u.user)) continue;
    records.push({
      type: 'userScramCredential', name: u.user, mechanism: u.mechanism, salt: u.salt, storedKey: u.storedKey, serverKey: u.serverKey, iterations: u.iterations,
    });
  }
  const result = users.map((user) => {
    const e = errors.get(user);
    return { user, errorCode: e?.[0] ?? ErrorCode.NONE, errorMessage: e?.[1] ?? null };
  });
  return { records, result };
}
