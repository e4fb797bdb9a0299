/**
 * SASL on the wire: SaslHandshake (v0-1) and SaslAuthenticate (v0-2, KIP-152) drive the
 * connection's SaslSession; DescribeUserScramCredentials and AlterUserScramCredentials read
 * and change the SCRAM credentials in the metadata log.
 *
 * A failed login is answered after `connection.failed.authentication.delay.ms` and its
 * connection then closed, so guessing passwords costs the guesser time. The log line names the
 * principal tried and the address, never a password or token.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../shared/errors.js';
import { childLogger } from '../../shared/logger.js';
import type { RequestHeaderInfo } from '../../shared/protocol/headers.js';
import type { SaslHandshakeRequest } from '../../shared/protocol/generated/sasl-handshake-request.js';
import type { SaslAuthenticateRequest } from '../../shared/protocol/generated/sasl-authenticate-request.js';
import type { DescribeUserScramCredentialsRequest } from '../../shared/protocol/generated/describe-user-scram-credentials-request.js';
import type { AlterUserScramCredentialsRequest } from '../../shared/protocol/generated/alter-user-scram-credentials-request.js';
import type { ScramUpsertion } from '../../shared/metadata-types.js';
import { credentialFromSalted, mechanismOfCode, type ScramMechanism } from '../../shared/scram.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import type { TokenResult } from '../security/sasl-session.js';
import type { Encodable } from '../../shared/protocol/codec.js';
import type { AlterUserScramCredentialsResponse } from '../../shared/protocol/generated/alter-user-scram-credentials-response.js';
import type { DescribeUserScramCredentialsResponse } from '../../shared/protocol/generated/describe-user-scram-credentials-response.js';
import type { SaslAuthenticateResponse } from '../../shared/protocol/generated/sasl-authenticate-response.js';
import type { SaslHandshakeResponse } from '../../shared/protocol/generated/sasl-handshake-response.js';

const log = childLogger({ thread: 'main', component: 'sasl' });

export function handleSaslHandshake(_ctx: BrokerContext, req: SaslHandshakeRequest, h: RequestHeaderInfo, conn: Connection): Encodable<SaslHandshakeResponse> {
  const session = conn.sasl;
  if (session === null) {
    conn.endAfterResponses('SaslHandshake on a listener without SASL');
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
  }
  const r = session.handshake(req.mechanism, h.apiVersion);
  if (r.errorCode !== ErrorCode.NONE) {
    log.info({ remote: conn.remote, listener: conn.listener, mechanism: req.mechanism, errorCode: r.errorCode }, 'SASL handshake refused');
    conn.endAfterResponses(`SASL handshake refused (mechanism ${req.mechanism})`);
  }
  return r;
}

/**
 * One token of the exchange; shared by SaslAuthenticate and the raw tokens that follow a v0
 * handshake. Resolves once the answer may be sent (failures after the delay).
 */
export async function authenticateToken(ctx: BrokerContext, conn: Connection, token: Buffer): Promise<TokenResult> {
  const session = conn.sasl;
  if (session === null) {
    conn.endAfterResponses('SaslAuthenticate on a listener without SASL');
    return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'This listener does not use SASL', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  }
  const r = session.authenticate(token);
  if (r.principal !== undefined) {
    conn.principal = r.principal;
    log.info({ remote: conn.remote, listener: conn.listener, principal: r.principal, mechanism: session.mechanism }, 'SASL authentication succeeded');
    if (session.repeatedClientNonce) log.debug({ remote: conn.remote, principal: r.principal }, 'SCRAM client repeated its nonce (librdkafka before 2.6.1); accepted');
  } else if (r.errorCode !== ErrorCode.NONE) {
    log.warn({ remote: conn.remote, listener: conn.listener, user: session.attemptedUser, mechanism: session.mechanism, err: r.errorMessage }, 'SASL authentication failed');
    // Nothing more is read from this client; the refusal goes out after the delay, then the connection closes.
    conn.endAfterResponses('SASL authentication failed');
    await sleep(ctx.config.failedAuthenticationDelayMs);
  }
  return r;
}

export async function handleSaslAuthenticate(ctx: BrokerContext, req: SaslAuthenticateRequest, _h: RequestHeaderInfo, conn: Connection): Promise<Encodable<SaslAuthenticateResponse>> {
  return authenticateToken(ctx, conn, req.authBytes);
}

export function handleDescribeUserScramCredentials(ctx: BrokerContext, req: DescribeUserScramCredentialsRequest): Encodable<DescribeUserScramCredentialsResponse> {
  const all = ctx.metadata.scramCredentials();
  const byUser = new Map<string, { mechanism: number; iterations: number }[]>();
  for (const c of all) {
    const list = byUser.get(c.user) ?? [];
    list.push({ mechanism: c.mechanism, iterations: c.iterations });
    byUser.set(c.user, list);
  }
  const asked = req.users === null || req.users.length === 0 ? null : req.users.map((u) => u.name);
  const names = asked ?? [...byUser.keys()].sort();
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  const results = [...new Set(names)].map((user) => {
    if (counts.get(user)! > 1) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] };
    const infos = byUser.get(user);
    if (infos === undefined) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
    return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: infos.sort((a, b) => a.mechanism - b.mechanism) };
  });
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
}

export async function handleAlterUserScramCredentials(ctx: BrokerContext, req: AlterUserScramCredentialsRequest): Promise<Encodable<AlterUserScramCredentialsResponse>> {
  // The broker turns each salted password into the stored keys, so the password never
  // reaches the metadata log; what it cannot turn is refused here for its user.
  const refused = new Map<string, { errorCode: number; errorMessage: string }>();
  const upsertions: ScramUpsertion[] = [];
  for (const u of req.upsertions) {
    const mechanism = mechanismOfCode(u.mechanism);
    if (mechanism === null) {
      refused.set(u.name, { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' });
    } else if (u.salt.length === 0 || u.saltedPassword.length === 0) {
      refused.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salt and salted password must not be empty' });
    } else {
      const c = credentialFromSalted(mechanism, u.saltedPassword, u.salt, u.iterations);
      upsertions.push({
        user: u.name, mechanism: u.mechanism, iterations: u.iterations,
        salt: c.salt.toString('hex'), storedKey: c.storedKey.toString('hex'), serverKey: c.serverKey.toString('hex'),
      });
    }
  }
  const deletions = req.deletions.map((d) => ({ user: d.name, mechanism: d.mechanism })).filter((d) => !refused.has(d.user));
  const forController = { deletions, upsertions: upsertions.filter((u) => !refused.has(u.user)) };
  const decided = forController.deletions.length + forController.upsertions.length > 0
    ? await ctx.raft.alterScram({ ...forController, timeoutMs: 30_000 })
    : [];
  const results = [...decided];
  for (const [user, error] of refused) results.push({ user, ...error });
  return { throttleTimeMs: 0, results };
}

/** The SaslSession dependencies of a broker: credentials from the metadata cache, fresh nonces. */
export function saslDeps(ctx: Pick<BrokerContext, 'metadata'>) {
  return {
    scramCredential: (user: string, mechanism: ScramMechanism) => {
      const c = ctx.metadata.scramCredential(user, mechanism === 'SCRAM-SHA-256' ? 1 : 2);
      if (c === undefined) return undefined;
      return { salt: Buffer.from(c.salt, 'hex'), storedKey: Buffer.from(c.storedKey, 'hex'), serverKey: Buffer.from(c.serverKey, 'hex'), iterations: c.iterations };
    },
    nonce: () => randomBytes(24).toString('base64url'),
    nowMs: () => Date.now(),
  };
}
