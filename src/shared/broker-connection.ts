/**
 * A broker's client connection to another broker (a follower fetching from its leader):
 * plain TCP or TLS as the inter-broker listener's protocol says, then a SASL login (PLAIN or
 * SCRAM, SaslHandshake v1 and SaslAuthenticate v2) when it uses SASL. Resolves with the socket
 * ready for requests, or rejects with the reason (never naming a password).
 */
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from './errors.js';
import { encodeRequestFrame } from './protocol/frames.js';
import { ApiKey } from './protocol/generated/api-keys.js';
import { responseCodecs } from './protocol/generated/codecs.js';
import { decodeResponseHeader } from './protocol/headers.js';
import { Reader } from './protocol/reader.js';
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

export async function dialBroker(host: string, port: number, client: InterBrokerClient, clientId: string): Promise<net.Socket> {
  const socket = await open(host, port, client);
  try {
    if (client.sasl !== null) await saslLogin(socket, client.sasl, clientId);
  } catch (e) {
    socket.destroy();
    throw e;
  }
  return socket;
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
      s.setNoDelay(true);
      resolve(s);
    });
    const onError = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    s.once('error', onError);
  });
}

/** One request and its response on a socket nobody else reads meanwhile (requests go one at a time). */
export function exchange<T>(socket: net.Socket, apiKey: number, version: number, correlationId: number, clientId: string, body: object): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      cleanup();
      try {
        const r = new Reader(buf.subarray(4, 4 + buf.readInt32BE(0)));
        decodeResponseHeader(r, apiKey, version);
        resolve(responseCodecs[apiKey]!.decode(r, version) as T);
      } catch (e) {
        reject(e as Error);
      }
    };
    const onClose = () => {
      cleanup();
      reject(new Error('the broker closed the connection during SASL authentication'));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    for (const c of encodeRequestFrame(apiKey, version, correlationId, clientId, body)) socket.write(c);
  });
}

interface AuthAnswer { errorCode: number; errorMessage: string | null; authBytes: Buffer }

async function saslLogin(socket: net.Socket, sasl: NonNullable<InterBrokerClient['sasl']>, clientId: string): Promise<void> {
  const hs = await exchange<{ errorCode: number; mechanisms: string[] }>(socket, ApiKey.SaslHandshake, 1, 1, clientId, { mechanism: sasl.mechanism });
  if (hs.errorCode !== ErrorCode.NONE) throw new Error(`SASL mechanism ${sasl.mechanism} refused (enabled: ${hs.mechanisms.join(', ')})`);
  const step = async (n: number, token: Buffer): Promise<Buffer> => {
    const r = await exchange<AuthAnswer>(socket, ApiKey.SaslAuthenticate, 2, n, clientId, { authBytes: token });
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`SASL authentication as ${sasl.username} failed: ${r.errorMessage ?? r.errorCode}`);
    return r.authBytes;
  };
  if (sasl.mechanism === 'PLAIN') {
    await step(2, Buffer.from(`\0${sasl.username}\0${sasl.password}`, 'utf8'));
    return;
  }
  const scram = new ScramClient(sasl.mechanism, sasl.username, sasl.password, randomBytes(24).toString('base64url'));
  const serverFirst = await step(2, scram.first());
  scram.verify(await step(3, scram.final(serverFirst)));
}
