/**
 * TLS listeners: the server options of a listener's key material and policy (read from the
 * PEM files named in its settings, again on every reload), and the principal a client
 * certificate gives a connection.
 *
 * ssl.client.auth maps onto Node's options as Kafka's does onto the JVM's: `required` asks
 * for a certificate and refuses a handshake without a trusted one; `requested` asks, accepts
 * a client without one (principal ANONYMOUS) and still refuses an untrusted one; `none` does
 * not ask.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { InterBrokerClient } from '../../shared/broker-connection.js';
import type { InterBrokerSettings, TlsSettings } from '../../shared/config.js';
import { mapPrincipal, parsePrincipalRules, rfc2253, type PrincipalRule } from '../../shared/principal-mapping.js';

export const ANONYMOUS = 'User:ANONYMOUS';

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${what} '${file}': ${(e as Error).message}`);
  }
}

/** Kafka's PEM key store: one file (or two inline values) with the private key and the chain. */
export function tlsServerOptions(s: TlsSettings, handshakeTimeoutMs: number): TlsOptions {
  const store = s.keystoreLocation !== null ? readPem(s.keystoreLocation, 'ssl.keystore.location') : null;
  const key = store ?? s.key!;
  const cert = store ?? s.certificateChain!;
  const ca = s.truststoreLocation !== null ? readPem(s.truststoreLocation, 'ssl.truststore.location') : s.truststoreCertificates;
  const versions = [...s.protocols].sort();
  return {
    key,
    cert,
    ...(s.keyPassword !== null ? { passphrase: s.keyPassword } : {}),
    ...(ca !== null ? { ca } : {}),
    requestCert: s.clientAuth !== 'none',
    rejectUnauthorized: s.clientAuth === 'required',
    minVersion: versions[0] as TlsOptions['minVersion'],
    maxVersion: versions[versions.length - 1] as TlsOptions['maxVersion'],
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/**
 * The principal of a TLS connection, from its client certificate, or ANONYMOUS without one.
 * Throws when the connection must be refused: an untrusted certificate under `requested`,
 * or a subject no mapping rule applies to.
 */
export function tlsPrincipal(socket: TLSSocket, rules: readonly PrincipalRule[]): string {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return ANONYMOUS;
  if (!socket.authorized) throw new Error(`untrusted client certificate: ${String(socket.authorizationError)}`);
  const dn = rfc2253(cert.subject);
  const name = mapPrincipal(rules, dn);
  if (name === null) throw new Error(`no ssl.principal.mapping.rules rule applies to '${dn}'`);
  return `User:${name}`;
}

/** The inter-broker client with its PEM files read (they cross to the partition workers as text). */
export function interBrokerClient(s: InterBrokerSettings): InterBrokerClient {
  const t = s.tls;
  if (t === null) return { tls: null, sasl: s.sasl };
  const store = t.keystoreLocation !== null ? readPem(t.keystoreLocation, 'ssl.keystore.location') : null;
  return {
    tls: {
      ca: t.caLocation !== null ? readPem(t.caLocation, 'ssl.truststore.location') : t.caCertificates,
      cert: store ?? t.certificateChain,
      key: store ?? t.key,
      passphrase: t.keyPassword,
      verifyHostname: t.verifyHostname,
    },
    sasl: s.sasl,
  };
}

/** The controller listener's key material for mutual TLS between voters. */
export function quorumTls(s: TlsSettings & { verifyHostname: boolean }): { key: string; cert: string; ca: string; passphrase: string | null; verifyHostname: boolean } {
  const store = s.keystoreLocation !== null ? readPem(s.keystoreLocation, 'ssl.keystore.location') : null;
  const ca = s.truststoreLocation !== null ? readPem(s.truststoreLocation, 'ssl.truststore.location') : s.truststoreCertificates!;
  return { key: store ?? s.key!, cert: store ?? s.certificateChain!, ca, passphrase: s.keyPassword, verifyHostname: s.verifyHostname };
}

export function principalRules(s: TlsSettings): PrincipalRule[] {
  return parsePrincipalRules(s.principalMappingRules);
}
