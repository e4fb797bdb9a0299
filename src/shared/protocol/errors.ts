/**
 * Codec failures. They are internal errors, separate from Kafka's wire error codes:
 * a ProtocolDecodeError means the peer sent bytes that do not parse (the connection
 * is answered or closed by the caller); a ProtocolEncodeError means the broker tried to
 * send a value the requested version cannot carry.
 */
export class ProtocolDecodeError extends Error {
  override name = 'ProtocolDecodeError';
}

export class ProtocolEncodeError extends Error {
  override name = 'ProtocolEncodeError';
}

/** A null for a field that is not nullable in the version being written. */
export function nonNullable(field: string, version: number): never {
  throw new ProtocolEncodeError(`${field} is not nullable in version ${version}`);
}

/** A non-default value for a non-ignorable field the version being written lacks. */
export function notInVersion(field: string, version: number): never {
  throw new ProtocolEncodeError(`${field} does not exist in version ${version} and cannot be dropped`);
}
