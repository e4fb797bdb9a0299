/** Kafka's topic name rules (`Topic.validate` in Kafka): the same names are legal here. */

export const MAX_TOPIC_NAME_LENGTH = 249;

/**
 * The metadata quorum's own log lives in `<log.dir>/__cluster_metadata-0`, beside the
 * partition logs: a topic of that name would make a partition worker open and "recover" the
 * quorum's log as its own. Kafka refuses the name for the same reason.
 */
export const METADATA_TOPIC = '__cluster_metadata';

/** Why clients may not create a topic of this name (Kafka's INVALID_REQUEST text), or null. */
export function reservedTopicError(name: string): string | null {
  return name === METADATA_TOPIC ? `Creation of internal topic ${METADATA_TOPIC} is prohibited.` : null;
}

const LEGAL = /^[a-zA-Z0-9._-]+$/;

/** Returns why a name is illegal, or null when it is legal. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/**
 * '.' and '_' both become '_' in metric names, so Kafka refuses two topics that differ only
 * there; this is the name both map to.
 */
export function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}
