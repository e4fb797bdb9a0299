/**
 * TLS listeners: the server options of a listener's key material and policy (read from the
 * PEM, PKCS12 or JKS files named in its settings, again on every reload), and the principal a client
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
import type { InterBrokerSettings, KeyStoreSettings, TlsSettings } from '../../shared/listener-security.js';
import { KeyStoreError, keyStorePem, trustStorePem } from '../../shared/key-store.js';
import { mapPrincipal, parsePrincipalRules, rfc2253, type PrincipalRule } from '../../shared/principal-mapping.js';

export const ANONYMOUS = 'User:ANONYMOUS';

function readStore(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${what} '${file}': ${(e as Error).message}`);
  }
}

/** PEM text as PEM stores hold it; a binary store under type PEM is named as such. */
function pemText(file: Buffer, location: string, what: string): string {
  const text = file.toString('utf8');
  if (!text.includes('-----BEGIN ')) {
    throw new Error(`${what}.location '${location}' holds no PEM text (${what}.type=PEM; set ${what}.type=PKCS12 or JKS for a binary store)`);
  }
  return text;
}

/** PKCS12 and JKS each read the other too, as Java's key stores do (keystore.type.compat). */
function binaryType(file: Buffer): 'PKCS12' | 'JKS' {
  return file.length >= 4 && file.readUInt32BE(0) === 0xfeedfeed ? 'JKS' : 'PKCS12';
}

/** An error of a binary store, naming the setting at fault (never a password). */
function storeError(e: unknown, store: 'keystore' | 'truststore', location: string, keyPasswordSet: boolean): Error {
  if (!(e instanceof KeyStoreError)) return e as Error;
  const where = `ssl.${store}.location '${location}'`;
  switch (e.reason) {
    case 'store-password': return new Error(`ssl.${store}.password does not open ${where} (${e.message})`);
    case 'key-password': return new Error(`${keyPasswordSet ? 'ssl.key.password' : 'ssl.keystore.password (ssl.key.password is not set)'} does not open the private key in ${where}`);
    default: return new Error(`${where} is not a usable key store: ${e.message}`);
  }
}

/** The private key and certificate chain in PEM, and the passphrase of a PEM key. */
function keyStore(s: KeyStoreSettings): { key: string; cert: string; passphrase: string | null } {
  if (s.keystoreLocation === null) return { key: s.key!, cert: s.certificateChain!, passphrase: s.keyPassword };
  const file = readStore(s.keystoreLocation, 'ssl.keystore.location');
  if (s.keystoreType === 'PEM') {
    const text = pemText(file, s.keystoreLocation, 'ssl.keystore');
    return { key: text, cert: text, passphrase: s.keyPassword };
  }
  try {
    return { ...keyStorePem(binaryType(file), file, s.keystorePassword ?? '', s.keyPassword ?? s.keystorePassword ?? ''), passphrase: null };
  } catch (e) {
    throw storeError(e, 'keystore', s.keystoreLocation, s.keyPassword !== null);
  }
}

/** The trusted certificates in PEM, or null without a trust store. */
function trustStore(s: KeyStoreSettings): string | null {
  if (s.truststoreLocation === null) return s.truststoreCertificates;
  const file = readStore(s.truststoreLocation, 'ssl.truststore.location');
  if (s.truststoreType === 'PEM') return pemText(file, s.truststoreLocation, 'ssl.truststore');
  try {
    return trustStorePem(binaryType(file), file, s.truststorePassword);
  } catch (e) {
    throw storeError(e, 'truststore', s.truststoreLocation, false);
  }
}

/** A listener's TLS options: its key store (PEM, PKCS12 or JKS), trust store and policy. */
export function tlsServerOptions(s: TlsSettings, handshakeTimeoutMs: number): TlsOptions {
  const { key, cert, passphrase } = keyStore(s);
  const ca = trustStore(s);
  const versions = [...s.protocols].sort();
  return {
    key,
    cert,
    ...(passphrase !== null ? { passphrase } : {}),
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

/** The inter-broker client with its stores read (they cross to the partition workers as PEM text). */
export function interBrokerClient(s: InterBrokerSettings): InterBrokerClient {
  const t = s.tls;
  if (t === null) return { tls: null, sasl: s.sasl };
  const { key, cert, passphrase } = keyStore(t);
  return { tls: { ca: trustStore(t), cert, key, passphrase, verifyHostname: t.verifyHostname }, sasl: s.sasl };
}

/** The controller listener's key material for mutual TLS between voters. */
export function quorumTls(s: TlsSettings & { verifyHostname: boolean }): { key: string; cert: string; ca: string; passphrase: string | null; verifyHostname: boolean } {
  return { ...keyStore(s), ca: trustStore(s)!, verifyHostname: s.verifyHostname };
}

export function principalRules(s: TlsSettings): PrincipalRule[] {
  return parsePrincipalRules(s.principalMappingRules);
}
