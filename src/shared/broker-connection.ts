/**
 * A broker's client connection to another broker (a follower fetching from its leader):
 * plain TCP or TLS as the inter-broker listener's protocol says, then a SASL login (PLAIN or
 * SCRAM, SaslHandshake v1 and SaslAuthenticate v2) when it uses SASL. Resolves with the
 * connection ready for requests, or rejects with the reason (never naming a password).
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { ClientConnection, type ClientConnectionOptions } from './client-connection.js';
import { ErrorCode } from './errors.js';
import { ApiKey } from './protocol/generated/api-keys.js';
import { ScramClient, type ScramMechanism } from './scram.js';

/** How a broker reaches the inter-broker listener of the others (plain data: it crosses to worker threads). */
export interface InterBrokerClient {
  tls: {
    /** PEM of the CAs to trust, or null for the system's. */
    ca: string | null;
    /** PEM client certificate chain and key, for listeners that ask for one. */
    cert: string | null;
    key: string | null;
    passphrase: string | null;
    /** ssl.endpoint.identification.algorithm=https: the certificate must name the host dialled. */
    verifyHostname: boolean;
  } | null;
  sasl: { mechanism: 'PLAIN' | ScramMechanism; username: string; password: string } | null;
}

const CONNECT_TIMEOUT_MS = 10_000;

/** A connection to host:port, logged in when the inter-broker listener uses SASL. */
export async function dialBroker(host: string, port: number, client: InterBrokerClient, options: ClientConnectionOptions): Promise<ClientConnection> {
  const conn = new ClientConnection(await open(host, port, client), options);
  try {
    if (client.sasl !== null) await saslLogin(conn, client.sasl);
  } catch (e) {
    conn.close();
    throw e;
  }
  return conn;
}

function open(host: string, port: number, client: InterBrokerClient): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const t = client.tls;
    const s: net.Socket = t === null
      ? net.connect(port, host)
      : tls.connect({
        host, port,
        ...(t.ca !== null ? { ca: t.ca } : {}),
        ...(t.cert !== null && t.key !== null ? { cert: t.cert, key: t.key } : {}),
        ...(t.passphrase !== null ? { passphrase: t.passphrase } : {}),
        servername: net.isIP(host) ? undefined : host,
        ...(t.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
      });
    const timer = setTimeout(() => s.destroy(new Error(`connecting to ${host}:${port} timed out`)), CONNECT_TIMEOUT_MS);
    s.once(t === null ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      s.off('error', onError);
      resolve(s);
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once('error', onError);
  });
}

async function saslLogin(conn: ClientConnection, sasl: NonNullable<InterBrokerClient['sasl']>): Promise<void> {
  const hs = await conn.request(ApiKey.SaslHandshake, 1, { mechanism: sasl.mechanism });
  if (hs.errorCode !== ErrorCode.NONE) throw new Error(`SASL mechanism ${sasl.mechanism} refused (enabled: ${hs.mechanisms.join(', ')})`);
  const step = async (token: Buffer): Promise<Buffer> => {
    const r = await conn.request(ApiKey.SaslAuthenticate, 2, { authBytes: token });
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`SASL authentication as ${sasl.username} failed: ${r.errorMessage ?? r.errorCode}`);
    return r.authBytes;
  };
  if (sasl.mechanism === 'PLAIN') {
    await step(Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password, randomBytes(24).toString('base64url'));
  const serverFirst = await step(scram.first());
  scram.verify(await step(scram.final(serverFirst)));
}
