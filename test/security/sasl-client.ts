/**
 * The client side of SASL for tests on the project's wire client: PLAIN, and SCRAM computed
 * from RFC 5802 (with the shared helpers for the salted password), over SaslHandshake v1 and
 * SaslAuthenticate v2. Returns the broker's answer to the last token.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { ApiKey } from '../../src/shared/protocol/generated/api-keys.js';
import { saltedPassword, type ScramMechanism } from '../../src/shared/scram.js';
import type { WireClient } from '../clients/wire-client.js';

export interface AuthAnswer {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  sessionLifetimeMs: number;
}

export async function handshake(client: WireClient, mechanism: string): Promise<{ errorCode: number; mechanisms: string[] }> {
  return client.request(ApiKey.SaslHandshake, 1, { mechanism });
}

export async function plainLogin(client: WireClient, user: string, password: string): Promise<AuthAnswer> {
  const h = await handshake(client, 'PLAIN');
  if (h.errorCode !== 0) throw new Error(`handshake refused: ${h.errorCode}`);
  return client.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`\0${user}\0${password}`) });
}

export async function scramLogin(client: WireClient, mechanism: ScramMechanism, user: string, password: string): Promise<AuthAnswer> {
  const h = await handshake(client, mechanism);
  if (h.errorCode !== 0) throw new Error(`handshake refused: ${h.errorCode}`);
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const cnonce = randomBytes(18).toString('base64url');
  const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${cnonce}`;
  const first: AuthAnswer = await client.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`n,,${bare}`) });
  if (first.errorCode !== 0) return first;
  const serverFirst = first.authBytes.toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = saltedPassword(mechanism, password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i));
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  return client.request(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from(`${withoutProof},p=${proof.toString('base64')}`) });
}
